// Package sandbox is the built-in test payment gateway. It stands in for a
// real processor so cardfile runs on one machine: it serves the hosted card
// fields page and the token endpoint over HTTP, validates cards like a
// processor would, and keeps its vault in the application's database (tables
// named sandbox_*). The vault never holds a full card number or security code.
//
// # Test cards
//
// Any future expiry, any ZIP (12345 or 12345-6789) and a CVC of the right
// length (4 digits for Amex, else 3) work with these numbers:
//
//	Number                Brand       Outcome
//	4242 4242 4242 4242   VISA        approved
//	4111 1111 1111 1111   VISA        approved
//	5555 5555 5555 4444   MASTERCARD  approved
//	2223 0031 2200 3222   MASTERCARD  approved (2-series)
//	3782 822463 10005     AMEX        approved
//	6011 1111 1111 1117   DISCOVER    approved
//	3056 9300 0902 0004   DINERS      approved
//	3566 0020 2036 0505   JCB         approved
//	4000 0000 0000 0341   VISA        saves, but later charges decline (card_declined)
//	4000 0000 0000 0101   VISA        declined when the gateway stores it (do_not_honor)
//	4000 0000 0000 0002   VISA        declined at entry: do_not_honor
//	4000 0000 0000 9995   VISA        declined at entry: insufficient_funds
//	4000 0000 0000 0069   VISA        declined at entry: expired_card
//	4000 0000 0000 0127   VISA        declined at entry: incorrect_cvc
//
// The same table is exported as [TestCards].
package sandbox
