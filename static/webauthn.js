// Tessera: passkeys and security keys on the hosted pages.
//
// Plain JavaScript, no build step, loaded with <script src="/static/webauthn.js" defer>. It binds
// to buttons that carry the ceremony's endpoints:
//
//   <button type="button" data-webauthn="login|second-factor|register"
//           data-start="…/webauthn/…/start" data-finish="…/webauthn/…/finish"
//           data-csrf="{{ csrf_token }}"
//           data-name-input="id of a text input"        (register: the new key's name)
//           data-remember-input="id of a checkbox"      (second-factor: remember this device)
//           data-context="account|enroll"               (register, optional)
//           data-return-to="/t/…/…">                    (login, optional; else the page's
//                                                        input[name=return_to])
//
// Errors are shown in the nearest [data-webauthn-error] element (give it role="alert").
// When the page has an input with autocomplete="… webauthn", the browser's autofill offers
// passkeys as well (conditional mediation), using the login button's endpoints.
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var raw = atob(s);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  // The server's JSON options, with nulls dropped and binary fields decoded.
  function withoutNulls(value) {
    if (Array.isArray(value)) {
      return value.map(withoutNulls);
    }
    if (value && typeof value === "object") {
      var out = {};
      Object.keys(value).forEach(function (k) {
        if (value[k] !== null && value[k] !== undefined) {
          out[k] = withoutNulls(value[k]);
        }
      });
      return out;
    }
    return value;
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (c) {
      var d = Object.assign({}, c);
      d.id = fromBase64url(c.id);
      return d;
    });
  }

  function creationOptions(json) {
    var pk = withoutNulls(json.publicKey);
    pk.challenge = fromBase64url(pk.challenge);
    pk.user.id = fromBase64url(pk.user.id);
    if (pk.excludeCredentials) {
      pk.excludeCredentials = decodeDescriptors(pk.excludeCredentials);
    }
    return { publicKey: pk };
  }

  function requestOptions(json) {
    var pk = withoutNulls(json.publicKey);
    pk.challenge = fromBase64url(pk.challenge);
    if (pk.allowCredentials) {
      pk.allowCredentials = decodeDescriptors(pk.allowCredentials);
    }
    return { publicKey: pk };
  }

  function extensionResults(credential) {
    try {
      return credential.getClientExtensionResults() || {};
    } catch (e) {
      return {};
    }
  }

  function registrationJson(credential) {
    var r = credential.response;
    var transports = typeof r.getTransports === "function" ? r.getTransports() : undefined;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toBase64url(r.attestationObject),
        clientDataJSON: toBase64url(r.clientDataJSON),
        transports: transports
      },
      extensions: extensionResults(credential)
    };
  }

  function assertionJson(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toBase64url(r.authenticatorData),
        clientDataJSON: toBase64url(r.clientDataJSON),
        signature: toBase64url(r.signature),
        userHandle: r.userHandle ? toBase64url(r.userHandle) : null
      },
      extensions: extensionResults(credential)
    };
  }

  // A refusal by the server, carrying its message.
  function ServerError(message) {
    this.name = "ServerError";
    this.message = message;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!resp.ok) {
            throw new ServerError(
              data.message || "The request failed (" + resp.status + "). Please try again."
            );
          }
          return data;
        });
    });
  }

  function describe(error) {
    if (error instanceof ServerError) {
      return error.message;
    }
    switch (error && error.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled, timed out, or your authenticator could not verify you.";
      case "InvalidStateError":
        return "This authenticator is already registered for your account.";
      case "SecurityError":
        return "Passkeys cannot be used on this address. Open the site by its domain name over HTTPS.";
      case "NotSupportedError":
        return "This authenticator does not support what this site asks for.";
      default:
        return "Your browser could not use the passkey" + (error && error.message ? ": " + error.message : ".");
    }
  }

  function errorBox(element) {
    for (var el = element; el; el = el.parentElement) {
      var box = el.querySelector("[data-webauthn-error]");
      if (box) {
        return box;
      }
    }
    return null;
  }

  function showError(button, message) {
    var box = errorBox(button);
    if (box) {
      box.textContent = message;
      box.hidden = false;
    } else {
      window.alert(message);
    }
  }

  function clearError(button) {
    var box = errorBox(button);
    if (box) {
      box.textContent = "";
    }
  }

  function inputValue(id, checkbox) {
    var el = id ? document.getElementById(id) : null;
    if (!el) {
      return checkbox ? false : "";
    }
    return checkbox ? el.checked : el.value;
  }

  function returnTo(button) {
    if (button.dataset.returnTo) {
      return button.dataset.returnTo;
    }
    var scope = button.form || document;
    var field = scope.querySelector('input[name="return_to"]') || document.querySelector('input[name="return_to"]');
    return field ? field.value : "";
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  // The autofill request of the page, aborted when a button starts a modal one.
  var conditional = null;

  function stopConditional() {
    if (conditional) {
      conditional.abort();
      conditional = null;
    }
  }

  function signIn(button, mediation, signal) {
    var d = button.dataset;
    var start = { return_to: returnTo(button) };
    if (mediation) {
      start.conditional = true;
    }
    return post(d.start, d.csrf, start)
      .catch(function (error) {
        // An autofill request the server declines (another sign-in is in progress) is simply
        // not offered.
        error.quiet = !!mediation;
        throw error;
      })
      .then(function (json) {
        var options = requestOptions(json);
        if (mediation) {
          options.mediation = mediation;
          options.signal = signal;
        }
        return navigator.credentials.get(options);
      })
      .then(function (credential) {
        return post(d.finish, d.csrf, { credential: assertionJson(credential) });
      });
  }

  function secondFactor(button) {
    var d = button.dataset;
    return post(d.start, d.csrf, {})
      .then(function (json) {
        return navigator.credentials.get(requestOptions(json));
      })
      .then(function (credential) {
        return post(d.finish, d.csrf, {
          credential: assertionJson(credential),
          remember_device: !!inputValue(d.rememberInput, true)
        });
      });
  }

  function register(button) {
    var d = button.dataset;
    var name = String(inputValue(d.nameInput, false)).trim();
    var start = { name: name };
    if (d.context) {
      start.context = d.context;
    }
    return post(d.start, d.csrf, start)
      .then(function (json) {
        return navigator.credentials.create(creationOptions(json));
      })
      .then(function (credential) {
        return post(d.finish, d.csrf, { credential: registrationJson(credential), name: name });
      });
  }

  var ceremonies = { login: signIn, "second-factor": secondFactor, register: register };

  function bind(button) {
    var run = ceremonies[button.dataset.webauthn];
    if (!run) {
      return;
    }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (button.disabled) {
        return;
      }
      if (!supported()) {
        showError(button, "This browser does not support passkeys.");
        return;
      }
      stopConditional();
      clearError(button);
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      run(button)
        .then(function (result) {
          if (result && result.redirect) {
            window.location.assign(result.redirect);
          } else {
            window.location.reload();
          }
        })
        .catch(function (error) {
          showError(button, describe(error));
        })
        .then(function () {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
    });
  }

  function startAutofill() {
    var field = document.querySelector('input[autocomplete~="webauthn"]');
    var button = document.querySelector('button[data-webauthn="login"]');
    if (!field || !button || !supported()) {
      return;
    }
    var available = PublicKeyCredential.isConditionalMediationAvailable;
    if (typeof available !== "function") {
      return;
    }
    available
      .call(PublicKeyCredential)
      .then(function (yes) {
        if (!yes || conditional) {
          return;
        }
        var controller = new AbortController();
        conditional = controller;
        return signIn(button, "conditional", controller.signal).then(
          function (result) {
            if (result && result.redirect) {
              window.location.assign(result.redirect);
            }
          },
          function (error) {
            // An aborted autofill request (a button took over) is not an error.
            if (controller.signal.aborted || (error && (error.name === "AbortError" || error.quiet))) {
              return;
            }
            showError(button, describe(error));
          }
        );
      })
      .catch(function () {});
  }

  function init() {
    var buttons = document.querySelectorAll("button[data-webauthn]");
    for (var i = 0; i < buttons.length; i++) {
      bind(buttons[i]);
    }
    startAutofill();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
