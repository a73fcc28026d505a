package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
)

// fieldsPage is the hosted card fields page, rendered once at start-up.
var fieldsPage []byte

// fieldsCSP allows only this page's own inline style and script (by hash) and
// requests to its own origin; frame-ancestors is appended per gateway.
var fieldsCSP string

func init() {
	var buf bytes.Buffer
	err := fieldsTemplate.Execute(&buf, map[string]any{
		"Style":  template.HTML("<style>" + fieldsStyle + "</style>"),
		"Script": template.HTML("<script>" + fieldsScript + "</script>"),
		"Cards":  TestCards,
	})
	if err != nil {
		panic(err)
	}
	fieldsPage = buf.Bytes()
	fieldsCSP = "default-src 'none'; script-src 'self' " + cspHash(fieldsScript) +
		"; style-src 'self' " + cspHash(fieldsStyle) +
		"; connect-src 'self'; form-action 'none'; base-uri 'none'"
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var fieldsTemplate = template.Must(template.New("fields").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Card details</title>
{{.Style}}
</head>
<body>
<main>
<div class="note" role="note">
<strong>SANDBOX — use test cards.</strong> No real card is charged. Try
<code>4242 4242 4242 4242</code>, any future expiry, any 3-digit CVC (4 for Amex) and ZIP 12345.
<details>
<summary>All test cards</summary>
<ul>
{{- range .Cards}}
<li><button type="button" class="fill" data-number="{{.Number}}">{{.Number}}</button> {{.Brand}}: {{.Outcome}}
{{- if .DeclineCode}} ({{.DeclineCode}}){{else if ne .ChargeBehavior "approve"}} ({{.ChargeBehavior}}){{end}}</li>
{{- end}}
</ul>
</details>
</div>
<form id="card" novalidate>
<div class="field">
<label for="number">Card number <span class="brand" id="brand" aria-live="polite"></span></label>
<input id="number" name="cardnumber" autocomplete="cc-number" inputmode="numeric" maxlength="23" spellcheck="false" aria-describedby="number-error">
<p class="error" id="number-error" hidden></p>
</div>
<div class="row">
<div class="field">
<label for="expiry">Expiry</label>
<input id="expiry" name="exp-date" autocomplete="cc-exp" inputmode="numeric" placeholder="MM / YY" spellcheck="false" aria-describedby="expiry-error">
<p class="error" id="expiry-error" hidden></p>
</div>
<div class="field">
<label for="cvc">Security code</label>
<input id="cvc" name="cvc" autocomplete="cc-csc" inputmode="numeric" maxlength="4" placeholder="CVC" spellcheck="false" aria-describedby="cvc-error">
<p class="error" id="cvc-error" hidden></p>
</div>
<div class="field">
<label for="postalCode">ZIP code</label>
<input id="postalCode" name="postal" autocomplete="postal-code" inputmode="numeric" maxlength="10" spellcheck="false" aria-describedby="postalCode-error">
<p class="error" id="postalCode-error" hidden></p>
</div>
</div>
<div class="field">
<label for="name">Name on card <span class="optional">(optional)</span></label>
<input id="name" name="ccname" autocomplete="cc-name" maxlength="100" aria-describedby="name-error">
<p class="error" id="name-error" hidden></p>
</div>
<button id="save" type="submit" hidden>Save card</button>
<p id="status" role="status" hidden></p>
</form>
</main>
{{.Script}}
</body>
</html>
`))

const fieldsStyle = `
*{box-sizing:border-box}
html{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
body{margin:0}
main{padding:4px}
[hidden]{display:none!important}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 10px;margin:0 0 12px;font-size:13px}
.note summary{cursor:pointer;margin-top:4px}
.note ul{margin:6px 0 0;padding:0 0 0 18px}
.note .fill{font:inherit;font-family:ui-monospace,Menlo,Consolas,monospace;background:none;border:0;padding:0;color:#0969da;text-decoration:underline;cursor:pointer}
.field{margin:0 0 10px}
.row{display:flex;gap:10px}
.row>.field{flex:1;min-width:0}
label{display:block;font-weight:600;margin:0 0 4px}
.brand,.optional{font-weight:400;color:#57606a}
input{width:100%;padding:8px 10px;font:inherit;color:inherit;background:#fff;border:1px solid #8c959f;border-radius:6px}
input:focus{outline:2px solid #0969da;outline-offset:-1px}
input[aria-invalid=true]{border-color:#cf222e}
.error{color:#cf222e;font-size:13px;margin:4px 0 0}
#save{font:inherit;font-weight:600;padding:8px 16px;color:#fff;background:#1f883d;border:0;border-radius:6px;cursor:pointer}
#save:disabled{opacity:.6;cursor:default}
#status{margin:10px 0 0;word-break:break-all}
#status.failed{color:#cf222e}
`

// fieldsScript talks to the parent page only through postMessage; it never
// stores the card number anywhere but the input itself.
const fieldsScript = `
"use strict";
(() => {
  const params = new URLSearchParams(location.search);
  const standalone = params.get("button") === "1";
  let targetOrigin = "*";
  try {
    const u = new URL(params.get("origin") || "");
    if (u.protocol === "https:" || u.protocol === "http:") targetOrigin = u.origin;
  } catch (_) {}
  const embedded = window.parent !== window;
  const post = (msg) => { if (embedded) window.parent.postMessage(msg, targetOrigin); };

  const $ = (id) => document.getElementById(id);
  const form = $("card"), number = $("number"), expiry = $("expiry"), cvc = $("cvc"),
    zip = $("postalCode"), name = $("name"), save = $("save"), status = $("status");
  const fields = ["number", "expiry", "cvc", "postalCode", "name"];
  const brandNames = { VISA: "Visa", MASTERCARD: "Mastercard", AMEX: "American Express",
    DISCOVER: "Discover", DINERS: "Diners Club", JCB: "JCB" };
  save.hidden = !standalone;

  const cardDigits = () => number.value.replace(/[\s-]/g, "");

  function brandOf(d) {
    const p = (n) => Number(d.slice(0, n));
    if (d[0] === "4") return "VISA";
    if ((p(2) >= 51 && p(2) <= 55) || (p(4) >= 2221 && p(4) <= 2720)) return "MASTERCARD";
    if (p(2) === 34 || p(2) === 37) return "AMEX";
    if (p(4) === 6011 || (p(3) >= 644 && p(3) <= 649) || p(2) === 65) return "DISCOVER";
    if (p(4) >= 3528 && p(4) <= 3589) return "JCB";
    if (p(2) === 36 || (p(3) >= 300 && p(3) <= 305) || p(2) === 38 || p(2) === 39) return "DINERS";
    return "";
  }

  function luhn(d) {
    let sum = 0;
    for (let i = 0; i < d.length; i++) {
      let n = Number(d[d.length - 1 - i]);
      if (i % 2 === 1) { n *= 2; if (n > 9) n -= 9; }
      sum += n;
    }
    return sum % 10 === 0;
  }

  function formatNumber(d) {
    const groups = brandOf(d) === "AMEX" ? [4, 6, 5] : [4, 4, 4, 4, 3];
    const out = [];
    let i = 0;
    for (const g of groups) {
      if (i >= d.length) break;
      out.push(d.slice(i, i + g));
      i += g;
    }
    return out.join(" ");
  }

  function parseExpiry(v) {
    const m = v.trim().match(/^(\d{1,2})\s*\/?\s*(\d{2}|\d{4})$/);
    if (!m) return null;
    const year = Number(m[2]);
    return { month: Number(m[1]), year: year < 100 ? 2000 + year : year };
  }

  number.addEventListener("input", () => {
    const d = number.value.replace(/\D/g, "").slice(0, 19);
    if (number.selectionStart === number.value.length) number.value = formatNumber(d);
    const b = brandOf(d);
    $("brand").textContent = b ? "· " + brandNames[b] : "";
  });

  expiry.addEventListener("input", (ev) => {
    const full = expiry.value.match(/^\s*(\d{1,2})\s*[\/-]\s*\d{2}(\d{2})\s*$/);
    if (full) { expiry.value = full[1].padStart(2, "0") + " / " + full[2]; return; }
    if (ev.inputType && ev.inputType.startsWith("delete")) return;
    let d = expiry.value.replace(/\D/g, "").slice(0, 4);
    if (d.length === 1 && d > "1") d = "0" + d;
    expiry.value = d.length >= 2 ? d.slice(0, 2) + " / " + d.slice(2) : d;
  });

  function check() {
    const errs = [];
    const add = (code, field, message) => errs.push({ code, field, message });
    const d = cardDigits();
    const brand = brandOf(d);
    if (!d) add("invalid_number", "number", "Enter a card number.");
    else if (!/^\d+$/.test(d)) add("invalid_number", "number", "The card number may contain only digits.");
    else if (d.length < 13 || d.length > 19) add("invalid_number", "number", "The card number must be 13 to 19 digits.");
    else if (!luhn(d)) add("invalid_number", "number", "The card number is not valid.");
    else if (!brand) add("unsupported_brand", "number", "This card brand is not accepted.");
    const exp = parseExpiry(expiry.value);
    const now = new Date();
    if (!exp || exp.month < 1 || exp.month > 12) add("invalid_expiry", "expiry", "Enter the expiry as MM / YY.");
    else if (exp.year * 12 + exp.month < now.getUTCFullYear() * 12 + now.getUTCMonth() + 1) add("invalid_expiry", "expiry", "The card has expired.");
    const cvcLen = brand === "AMEX" ? 4 : 3;
    if (!new RegExp("^\\d{" + cvcLen + "}$").test(cvc.value.trim())) add("invalid_cvc", "cvc", "The security code must be " + cvcLen + " digits.");
    if (!/^\d{5}(-?\d{4})?$/.test(zip.value.trim())) add("invalid_postal_code", "postalCode", "Enter a 5-digit ZIP code or ZIP+4.");
    if (name.value.trim().length > 100) add("invalid_name", "name", "The cardholder name must be at most 100 characters.");
    return errs;
  }

  function showError(e) {
    const input = e.field && $(e.field), msg = e.field && $(e.field + "-error");
    if (!input || !msg) return false;
    input.setAttribute("aria-invalid", "true");
    msg.textContent = e.message;
    msg.hidden = false;
    return true;
  }

  function clearError(field) {
    $(field).removeAttribute("aria-invalid");
    $(field + "-error").hidden = true;
  }

  function showStatus(text, failed) {
    status.textContent = text;
    status.className = failed ? "failed" : "";
    status.hidden = !text;
  }

  function fail(e) {
    if (!showError(e)) showStatus(e.message, true);
    post({ type: "cardfile:error", code: e.code, message: e.message, field: e.field || null });
  }

  let busy = false;
  async function tokenize() {
    if (busy) return;
    showStatus("", false);
    fields.forEach(clearError);
    const errs = check();
    if (errs.length) {
      errs.forEach(showError);
      $(errs[0].field).focus();
      post({ type: "cardfile:error", code: errs[0].code, message: errs[0].message, field: errs[0].field });
      return;
    }
    busy = true;
    save.disabled = true;
    const exp = parseExpiry(expiry.value);
    try {
      const res = await fetch("./tokens", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        cache: "no-store",
        body: JSON.stringify({ number: cardDigits(), expMonth: exp.month, expYear: exp.year,
          cvc: cvc.value.trim(), postalCode: zip.value.trim(), name: name.value.trim() }),
      });
      const data = await res.json().catch(() => null);
      if (res.status === 201 && data && data.token) {
        post({ type: "cardfile:token", token: data.token, brand: data.brand, last4: data.last4,
          expMonth: data.expMonth, expYear: data.expYear });
        if (!embedded) showStatus((brandNames[data.brand] || data.brand) + " ending " + data.last4 +
          " accepted. Single-use payment token: " + data.token, false);
      } else {
        fail((data && data.error) || { code: "processing_error", message: "The card could not be processed. Try again." });
      }
    } catch (_) {
      fail({ code: "network_error", message: "The card service could not be reached. Try again." });
    } finally {
      busy = false;
      save.disabled = false;
    }
  }

  function reset() {
    form.reset();
    fields.forEach(clearError);
    showStatus("", false);
    $("brand").textContent = "";
  }

  fields.forEach((f) => $(f).addEventListener("input", () => clearError(f)));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); if (standalone) tokenize(); });
  document.querySelectorAll("button.fill").forEach((b) => b.addEventListener("click", () => {
    number.value = b.dataset.number;
    number.dispatchEvent(new Event("input"));
    number.focus();
  }));
  window.addEventListener("message", (ev) => {
    if (ev.source !== window.parent || (targetOrigin !== "*" && ev.origin !== targetOrigin)) return;
    const type = ev.data && ev.data.type;
    if (type === "cardfile:tokenize") tokenize();
    else if (type === "cardfile:reset") reset();
  });

  let lastHeight = 0;
  new ResizeObserver(() => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({ type: "cardfile:resize", height });
    }
  }).observe(document.documentElement);
  post({ type: "cardfile:ready" });
})();
`
