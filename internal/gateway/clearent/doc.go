// Package clearent is the Clearent (Xplor Pay) payment gateway.
//
// Card entry uses Clearent's JavaScript SDK on a page cardfile serves
// (Handler, mounted under /gateway/clearent/): the SDK draws the card inputs
// in Clearent's own iframe, ClearentSDK.getPaymentToken() yields a single-use
// mobilejwt, and the page hands it to cardfile's frontend with the same
// postMessage protocol as the sandbox gateway. SaveCard exchanges the
// mobilejwt for a durable card token, Charge runs sales on that token, and
// DeleteCard removes it from Clearent's vault.
//
// # Where the request and response shapes come from
//
// Clearent's developer documentation (developer.clearent.com, since moved to
// docs.xplorpay.com), read while writing this package:
//
//   - "JavaScript SDK › Processing the Payment"
//     (developer.clearent.com/payment-processing-solutions/javascript-sdk/working-with-javascript-sdk/processing-the-payment):
//     ClearentSDK.getPaymentToken() returns a promise whose result is an
//     envelope with payload["mobile-jwt"] = {jwt, last-four}; the backend then
//     POSTs /rest/v2/mobile/transactions/sale with headers Accept and
//     Content-Type application/json, api-key and mobilejwt, and a body of
//     type, amount ("15.55"), software-type, software-type-version.
//   - "Mobile Transactions" API reference
//     (docs.xplorpay.com/api-reference/payments/mobile/mobile-payment-transactions/mobile-transactions):
//     a token-only request is amount "0.00" with create-token "true" (the
//     example uses type auth); amount, software-type and
//     software-type-version are required; 402 is a business exception
//     (decline); invoice is a VarChar of up to 100 characters; order-id exists.
//   - "Tokenization › Creating multi-use card tokens": "Start a sale
//     transaction in a mobile app" and "Authorize a transaction in a mobile
//     app" (response: links entry rel "token" whose id is the token, and
//     payload.transaction with id, result APPROVED, authorization-code,
//     display-message, result-code, exp-date MMYY, card-type, last-four);
//     "Authorize a transaction in a payment terminal" (payloadType "token":
//     payload.tokenResponse with token-id, exp-date, last-four-digits,
//     card-type, customer-first-name, customer-last-name); "Authorize a sale
//     transaction" (POST /rest/v2/transactions/... with card, exp-date "1227",
//     amount "1.00").
//   - "Information for Software Providers" (docs.xplorpay.com/token-portal):
//     a token id is passed in place of the card number when transacting.
//   - "Vault API" (developer.clearent.com/api-references/payments/cards/vault-api):
//     DELETE /rest/v2/tokens/{tokenId}. What a successful DELETE returns is
//     not shown; the recurring-payments customer-token reference lists Not
//     Found among a token's answers, so 2xx and 404 both count as deleted.
//   - "Transactions › Search Transactions"
//     (docs.xplorpay.com/api-references/payments/cards/transactions/transactions):
//     GET /rest/v2/transactions with header api-key and optional query
//     filters id, amount, type, status, last-four, authorization-code,
//     invoice, order-id, display-message, start-date/end-date, page,
//     page-size, level (terminal by default, "merchant" for all terminals);
//     transactions stay searchable for 90 days; 204 No Content exists among
//     its answers. LookupCharge filters by order-id and type SALE.
//   - "Transaction API › HTTP Status Codes": 200 OK, 400 bad request, 401 no
//     valid API key, 402 request failed (declines), 404 not found, 500+
//     Clearent error. "Transaction Responses › Formats and Fields": the
//     envelope fields code, status (success/fail), exchange-id (log it),
//     payload (transaction or error object), links. "Objects": the
//     transaction object (id, authorization-code, result APPROVED/DECLINED,
//     display-message, result-code, invoice, order-id).
//   - "Hosted Payments › Failed Transaction Response": a 402 "fail" answer
//     carries payload.transaction (result, display-message, result-code) and
//     payload.error (error-message, result-code) with payloadType "error";
//     the Hosted Payment Page security page shows answers echoing the csc.
//   - "Transaction Result Codes" (developer.clearent.com/resources/transaction-result-codes):
//     result codes and their HTTP statuses (e.g. 042 → 401, 045 duplicate → 402).
//   - "Check Duplicate Transaction Settings" (gateway settings API): duplicate
//     detection is a merchant-level setting (time window, by card or
//     invoice), not a per-request key.
//   - clearent.github.io/javascript-sdk/security.html: HTTPS hosting, the
//     public key, client-side Luhn validation only.
//
// ClearentSDK.init({baseUrl, pk}), the script path /js-sdk/js/clearent-host.js
// on the gateway host, the default #payment-form container and the optional
// card-type in the SDK result were confirmed only from public integration
// code on GitHub, not from Clearent's pages.
//
// # Decisions where the documentation is silent
//
//   - SaveCard vaults with type AUTH, amount "0.00", create-token "true"
//     (the documented token-only request), so saving a card never charges it.
//     The token is read from payload.tokenResponse["token-id"], else from the
//     links entry with rel "token"; details from tokenResponse, else from the
//     transaction. An answer without an expiry is useless for later charges:
//     the token is deleted again and ErrUnavailable returned.
//   - A malformed mobilejwt, or one whose exp claim has passed, is refused as
//     ErrInvalidToken without calling Clearent. Clearent documents no error
//     for a used or expired mobilejwt; a 400 whose error-message mentions
//     "jwt" is taken as ErrInvalidToken, every other 4xx as our configuration
//     (ErrUnavailable).
//   - No idempotency key: Clearent has none per request, and sending an
//     Idempotency-Key header would make net/http retry POSTs on its own.
//     Charge sends ChargeRequest.IdempotencyKey as order-id instead (Reference
//     otherwise) and Reference as invoice, both cut to 100 characters, so a
//     charge whose outcome is unknown can be found in Clearent's transaction
//     search. The payments layer prevents double charges.
//   - The search's list wrapping is not shown: LookupCharge accepts
//     payload.transactions as an array, as an object whose "transaction" is
//     an array or one object, and a lone payload.transaction. An approved
//     SALE among them is the charge, else a declined one is its decline,
//     else ErrNotCharged; the reconciler waits out its grace period (longer
//     than a charge may take) before it believes "not charged".
//   - Charge: a transport failure after the request was fully written, an
//     unreadable 2xx answer, or HTTP 502/504 (a proxy gave up waiting for the
//     gateway) is ErrOutcomeUnknown; other 5xx and failures before sending
//     are ErrUnavailable. A 2xx whose status is not "success" or whose
//     result is not APPROVED is a decline.
//   - Redirects are never followed (net/http would forward the api-key and
//     mobilejwt headers to the new host).
//   - The fields page CSP allows Clearent's origin for scripts, frames,
//     connections, images, fonts and styles, plus inline styles (the SDK's
//     markup is not documented); the page's own script is allowed by hash.
//     SDK error details are not relayed to the parent page: the SDK shows
//     field errors inside its own frame.
//
// # Secrets
//
// The api-key, the mobilejwt and card token ids are never logged or put into
// errors, and neither are response bodies (they can echo the csc). Logs carry
// the operation, HTTP status, exchange-id and result codes only.
package clearent
