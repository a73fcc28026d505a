package clearent

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
)

// sdkPath is where Clearent serves its JavaScript SDK host script.
const sdkPath = "/js-sdk/js/clearent-host.js"

// Handler serves /fields relative to the mount point:
// mux.Handle("/gateway/clearent/", http.StripPrefix("/gateway/clearent", g.Handler())).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fields", g.serveFields)
	return mux
}

func (g *Gateway) serveFields(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", g.csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Clearent's SDK may check where it is embedded, so the origin is kept.
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	w.Write(g.page)
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// fieldsTemplate is the hosted card fields page. Clearent's SDK renders the
// card inputs in its own iframe inside #payment-form (the SDK's default
// container id); this page only relays the result to cardfile's frontend.
var fieldsTemplate = template.Must(template.New("fields").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Card details</title>
{{.Style}}
</head>
<body data-base-url="{{.BaseURL}}" data-public-key="{{.PublicKey}}">
<main>
<div id="payment-form"></div>
<p id="status" role="status" hidden></p>
</main>
<script src="{{.SDKURL}}"></script>
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
#payment-form iframe{width:100%;border:0}
#status{margin:10px 0 0;color:#cf222e}
`

// fieldsScript speaks the same postMessage protocol as the sandbox fields
// page: it answers cardfile:tokenize with cardfile:token (the mobilejwt as
// token) or cardfile:error, and posts cardfile:ready and cardfile:resize.
// The card number and security code exist only inside Clearent's frame.
const fieldsScript = `
"use strict";
(() => {
  const params = new URLSearchParams(location.search);
  let targetOrigin = "*";
  try {
    const u = new URL(params.get("origin") || "");
    if (u.protocol === "https:" || u.protocol === "http:") targetOrigin = u.origin;
  } catch (_) {}
  const embedded = window.parent !== window;
  const post = (msg) => { if (embedded) window.parent.postMessage(msg, targetOrigin); };
  const cfg = document.body.dataset;
  const status = document.getElementById("status");

  function brandOf(cardType) {
    const n = String(cardType || "").toUpperCase().replace(/[^A-Z]/g, "");
    if (n.startsWith("VISA")) return "VISA";
    if (n === "MC" || n.startsWith("MASTER")) return "MASTERCARD";
    if (n === "AMEX" || n === "AMERICANEXPRESS" || n === "AX") return "AMEX";
    if (n.startsWith("DISCOVER")) return "DISCOVER";
    if (n.startsWith("DINERS")) return "DINERS";
    if (n === "JCB") return "JCB";
    return "UNKNOWN";
  }

  function expiryOf(value) {
    const d = String(value || "").replace(/[\/\s-]/g, "");
    const none = { expMonth: null, expYear: null };
    if (!/^\d{4}(\d{2})?$/.test(d)) return none;
    const month = Number(d.slice(0, 2));
    const year = d.length === 4 ? 2000 + Number(d.slice(2)) : Number(d.slice(2));
    return month >= 1 && month <= 12 ? { expMonth: month, expYear: year } : none;
  }

  function showStatus(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function fail(code, message) {
    showStatus(message);
    post({ type: "cardfile:error", code, message, field: null });
  }

  let ready = false;
  function init() {
    const sdk = window.ClearentSDK;
    if (!sdk || typeof sdk.init !== "function") {
      fail("gateway_unavailable", "The card service could not be loaded. Try again later.");
      return false;
    }
    try {
      sdk.init({ baseUrl: cfg.baseUrl, pk: cfg.publicKey, showValidationMessages: true });
      ready = true;
    } catch (_) {
      fail("gateway_unavailable", "The card service could not be loaded. Try again later.");
    }
    return ready;
  }

  let busy = false;
  async function tokenize() {
    if (busy || (!ready && !init())) return;
    busy = true;
    showStatus("");
    try {
      const res = await window.ClearentSDK.getPaymentToken();
      const mj = res && res.payload && res.payload["mobile-jwt"];
      if (!mj || typeof mj.jwt !== "string" || !mj.jwt) {
        fail("processing_error", "The card could not be processed. Try again.");
        return;
      }
      const last4 = String(mj["last-four"] || "").replace(/\D/g, "").slice(-4);
      post(Object.assign({ type: "cardfile:token", token: mj.jwt, brand: brandOf(mj["card-type"]), last4 },
        expiryOf(mj["exp-date"])));
    } catch (_) {
      // The SDK shows field errors inside its own frame; its details are not relayed.
      fail("invalid_card", "Check the card details and try again.");
    } finally {
      busy = false;
    }
  }

  function reset() {
    const sdk = window.ClearentSDK;
    if (sdk && typeof sdk.reset === "function") {
      try { sdk.reset(); } catch (_) {}
      ready = false;
      init();
    }
    showStatus("");
  }

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
  if (init()) post({ type: "cardfile:ready" });
})();
`
