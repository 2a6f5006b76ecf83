//! Branding and languages, end to end: the sign-in page in German from `Accept-Language`, from
//! an OIDC authorization request's `ui_locales` (carried to the sign-in page and remembered in
//! `tessera_lang`) and from the tenant's default; `<html lang>`; a German reset email through a
//! real SMTP server; a tenant's product name, colours, support link and custom CSS on the pages
//! (as a same-origin stylesheet) and in the emails; the logo API (upload, serve, sandbox, delete,
//! bad input); refused settings that change nothing; and an operator's `TESSERA_LOCALES_DIR`.

use serde_json::{Value, json};

use crate::harness::http::unescape;
use crate::harness::{Api, Backend, Browser, Deployment, Resp, element_text, hidden_input, start};
use crate::registration::{WAIT, link_in, patch_settings};

/// The value of `<html lang="…">`.
fn html_lang(page: &Resp) -> String {
    let html = page.text();
    let at = html
        .find("<html lang=\"")
        .expect("an <html lang> attribute")
        + 12;
    html[at..].split('"').next().unwrap_or("").to_string()
}

fn h1(page: &Resp) -> String {
    let html = page.text();
    let at = html.find("<h1>").expect("a heading") + 4;
    html[at..].split("</h1>").next().unwrap_or("").to_string()
}

async fn customer_tenant(api: &Api, slug: &str, name: &str) {
    api.post(
        "/tenants",
        &json!({"slug": slug, "preset": "customer", "name": name}),
    )
    .await
    .expect(201);
}

const REDIRECT_URI: &str = "http://localhost:9/cb";

async fn app(api: &Api) -> String {
    let c = api
        .post(
            "/tenants/shop/clients",
            &json!({"name": "Shop app", "redirect_uris": [REDIRECT_URI], "first_party": true}),
        )
        .await
        .expect(201);
    c["client_id"].as_str().expect("client_id").to_string()
}

fn authorize_path(client_id: &str, ui_locales: &str) -> String {
    format!(
        "/t/shop/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope=openid&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&ui_locales={}",
        ui_locales.replace(' ', "+")
    )
}

async fn german_sign_in_page(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    customer_tenant(&api, "shop", "Shop").await;
    api.create_user("shop", "ann@shop.test", Some("a long passphrase"))
        .await;

    // Accept-Language, with q-values.
    let b = Browser::cookieless(&server);
    let de = b
        .get_with_headers(
            "/t/shop/login",
            &[("accept-language", "de-DE,de;q=0.9,en;q=0.5")],
        )
        .await;
    assert_eq!(de.status, 200);
    assert_eq!(html_lang(&de), "de");
    assert_eq!(de.header("content-language").as_deref(), Some("de"));
    assert_eq!(h1(&de), "Anmelden");
    assert!(de.text().contains("Passwort vergessen?"), "{}", de.text());
    let en = b
        .get_with_headers(
            "/t/shop/login",
            &[("accept-language", "fr;q=0.9, en;q=0.8, de;q=0.1")],
        )
        .await;
    assert_eq!((html_lang(&en), h1(&en)), ("en".into(), "Sign in".into()));
    let unknown = b
        .get_with_headers("/t/shop/login", &[("accept-language", "ja, zh-CN;q=0.5")])
        .await;
    assert_eq!(html_lang(&unknown), "en", "no translation: English");
    assert!(
        unknown.set_cookie("tessera_lang").is_none(),
        "nothing to remember"
    );

    // Server-side messages follow: a wrong password, in German.
    let browser = server.browser();
    let page = browser.get("/t/shop/login?ui_locales=de").await;
    let cookie = page
        .set_cookie("tessera_lang")
        .expect("ui_locales is remembered");
    assert!(
        cookie.starts_with("tessera_lang=de;") && cookie.contains("Path=/t/shop"),
        "{cookie}"
    );
    let wrong = browser.sign_in("shop", "ann@shop.test", "not it").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(html_lang(&wrong), "de");
    assert_eq!(
        element_text(&wrong.text(), "error").as_deref(),
        Some("E-Mail-Adresse oder Passwort ist falsch.")
    );

    // An OIDC authorization request's ui_locales reaches the sign-in page.
    let client_id = app(&api).await;
    let fresh = server.browser();
    let r = fresh
        .get(&authorize_path(&client_id, "fr-CA de-AT en"))
        .await;
    let login = r.expect_see_other();
    assert!(login.starts_with("/t/shop/login?"), "{login}");
    assert!(login.contains("ui_locales=fr-CA+de-AT+en"), "{login}");
    let page = fresh.get(&login).await;
    assert_eq!(
        (html_lang(&page), h1(&page)),
        ("de".into(), "Anmelden".into())
    );
    // … and the rest of the sign-in keeps it (the cookie), even against Accept-Language.
    let later = fresh
        .get_with_headers("/t/shop/forgot-password", &[("accept-language", "en")])
        .await;
    assert_eq!(
        (html_lang(&later), h1(&later)),
        ("de".into(), "Passwort vergessen?".into())
    );
    let ok = fresh
        .sign_in_returning(
            "shop",
            "ann@shop.test",
            "a long passphrase",
            "/t/shop/account",
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.text());

    // The tenant's default language, below the browser's wish.
    patch_settings(&api, "shop", |s| {
        s["branding"] = json!({"default_locale": "de"})
    })
    .await;
    let plain = Browser::cookieless(&server);
    let page = plain.get("/t/shop/register").await;
    assert_eq!(
        (html_lang(&page), h1(&page)),
        ("de".into(), "Konto erstellen".into())
    );
    let page = plain
        .get_with_headers("/t/shop/register", &[("accept-language", "en-GB")])
        .await;
    assert_eq!(
        html_lang(&page),
        "en",
        "Accept-Language beats the tenant default"
    );
    let page = plain
        .get_with_headers(
            "/t/shop/register?ui_locales=en",
            &[("accept-language", "de")],
        )
        .await;
    assert_eq!(html_lang(&page), "en", "ui_locales beats Accept-Language");
}

async fn german_email_with_branding(backend: Backend) {
    let Some((sink, _dep, server, api)) = crate::registration::start(backend).await else {
        return;
    };
    patch_settings(&api, "shop", |s| {
        s["branding"] = json!({
            "product_name": "Acme ID",
            "primary_color": "#0b5a2a",
            "support_url": "https://help.acme.test/contact",
        })
    })
    .await;
    api.create_user("shop", "jan@shop.test", Some("a long passphrase"))
        .await;
    let b = server.browser();
    let page = b.get("/t/shop/forgot-password?ui_locales=de").await;
    assert_eq!(h1(&page), "Passwort vergessen?");
    let csrf = hidden_input(&page.text(), "csrf_token").unwrap();
    let r = b
        .post_form(
            "/t/shop/forgot-password",
            &[("email", "jan@shop.test"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h1(&r), "Prüfen Sie Ihre E-Mails");

    let mail = sink.wait_for("jan@shop.test", WAIT).await;
    assert_eq!(mail.subject, "Setzen Sie Ihr Passwort für Acme ID zurück");
    assert!(
        mail.text.starts_with(
            "Jemand (hoffentlich Sie) hat angefordert, das Passwort Ihres Kontos bei Acme ID zurückzusetzen."
        ),
        "{}",
        mail.text
    );
    assert!(
        mail.text
            .contains("Brauchen Sie Hilfe? https://help.acme.test/contact"),
        "{}",
        mail.text
    );
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(
        html.contains("background:#0b5a2a"),
        "the button in the brand colour: {html}"
    );
    assert!(html.contains("Neues Passwort wählen"), "{html}");
    assert!(
        unescape(html).contains("href=\"https://help.acme.test/contact\""),
        "the support link: {html}"
    );
    assert!(
        !html.contains(">Shop<"),
        "the product name replaces the tenant name: {html}"
    );
    // The link in it works, and its page is German too (same browser, remembered choice).
    let link = link_in(&mail, &server, "reset-password");
    let reset = b.get(&link).await;
    assert_eq!(h1(&reset), "Neues Passwort wählen");

    // Without a language wish, the tenant's default decides the email's language.
    patch_settings(&api, "shop", |s| {
        s["branding"]["default_locale"] = json!("de")
    })
    .await;
    let admin = api
        .post("/tenants/shop/email/test", &json!({"to": "ops@shop.test"}))
        .await;
    assert_eq!(admin.status, 202, "{}", admin.text());
    let test = sink.wait_for("ops@shop.test", WAIT).await;
    assert_eq!(test.subject, "Testnachricht von Acme ID");
}

async fn branding_on_pages(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    customer_tenant(&api, "shop", "Shop").await;
    let css = ".card { border: 3px solid #0b5a2a; }\nh1 { letter-spacing: .02em; }";
    patch_settings(&api, "shop", |s| {
        s["branding"] = json!({
            "product_name": "Acme ID",
            "primary_color": "#0b5a2a",
            "background_color": "#eef6f0",
            "support_url": "mailto:help@acme.test",
            "custom_css": css,
        })
    })
    .await;
    let b = Browser::cookieless(&server);
    let page = b.get("/t/shop/login").await;
    let raw = page.text();
    // No inline styles: the strict CSP still holds.
    assert!(!raw.contains("<style") && !raw.contains(" style="), "{raw}");
    let html = unescape(&raw);
    assert_eq!(
        element_text(&html, "product-name").as_deref(),
        Some("Acme ID")
    );
    assert!(html.contains("<title>Sign in · Acme ID</title>"), "{html}");
    assert!(html.contains("href=\"mailto:help@acme.test\""), "{html}");
    assert_eq!(
        element_text(&html, "support-link").as_deref(),
        Some("Need help?")
    );
    let at = html
        .find("href=\"/t/shop/branding.css?v=")
        .expect("the branding stylesheet is linked");
    let href = html[at + 6..].split('"').next().unwrap().to_string();
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let sheet = b.get(&href).await;
    assert_eq!(sheet.status, 200);
    assert_eq!(
        sheet.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        sheet.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let body = sheet.text();
    assert!(
        body.contains("--accent: #0b5a2a;") && body.contains("--bg: #eef6f0;"),
        "{body}"
    );
    assert!(body.contains(css), "{body}");

    // Refused settings: a clear message naming the field, and nothing changed.
    let before = api.get("/tenants/shop").await.expect(200)["settings"].clone();
    let refuse = |change: Value, field: &'static str, words: &'static str| {
        let api = api.clone();
        let before = before.clone();
        async move {
            let mut s = before.clone();
            for (k, v) in change.as_object().unwrap() {
                s["branding"][k] = v.clone();
            }
            let r = api.patch("/tenants/shop", &json!({ "settings": s })).await;
            let message = r.expect_error(400, "invalid_request");
            assert!(
                message.contains(field) && message.contains(words),
                "{field}: {message}"
            );
            let now = api.get("/tenants/shop").await.expect(200)["settings"].clone();
            assert_eq!(
                now, before,
                "a refused change leaves the settings as they were"
            );
        }
    };
    refuse(
        json!({"primary_color": "#ffff00"}),
        "settings.branding.primary_color",
        "1.07:1",
    )
    .await;
    refuse(
        json!({"background_color": "#333333"}),
        "settings.branding.background_color",
        "4.5:1",
    )
    .await;
    refuse(
        json!({"primary_color": "green"}),
        "settings.branding.primary_color",
        "#rrggbb",
    )
    .await;
    refuse(
        json!({"custom_css": "</style><script>alert(1)</script>"}),
        "settings.branding.custom_css",
        "</style",
    )
    .await;
    refuse(
        json!({"custom_css": "@import 'https://evil.example/x.css';"}),
        "settings.branding.custom_css",
        "@import",
    )
    .await;
    refuse(
        json!({"custom_css": "body { background: url(https://evil.example/p.png) }"}),
        "settings.branding.custom_css",
        "origin",
    )
    .await;
    refuse(
        json!({"custom_css": "a{}".repeat(11_000)}),
        "settings.branding.custom_css",
        "bytes",
    )
    .await;
    refuse(
        json!({"support_url": "http://help.acme.test"}),
        "settings.branding.support_url",
        "https",
    )
    .await;
    refuse(
        json!({"default_locale": "german"}),
        "settings.branding.default_locale",
        "language tag",
    )
    .await;
    refuse(json!({"shade": "x"}), "shade", "unknown field").await;

    // A tenant without branding has no stylesheet link and the default name.
    customer_tenant(&api, "plain", "Plain Shop").await;
    let page = b.get("/t/plain/login").await;
    assert!(!page.text().contains("branding.css"));
    assert_eq!(
        element_text(&page.text(), "product-name").as_deref(),
        Some("Plain Shop")
    );
    assert!(element_text(&page.text(), "support-link").is_none());
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
const SCRIPTED_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script><rect width="10" height="10" fill="#0b5a2a"/></svg>"##;

async fn logo_api(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    customer_tenant(&api, "shop", "Shop").await;
    let b = Browser::cookieless(&server);
    assert_eq!(b.get("/t/shop/logo").await.status, 404);

    let put = |ct: &'static str, body: Vec<u8>| {
        let api = api.clone();
        async move {
            api.send_raw(
                reqwest::Method::PUT,
                "/tenants/shop/branding/logo",
                Some(ct),
                body,
            )
            .await
        }
    };
    let t = put("image/png", PNG.to_vec()).await.expect(200);
    let logo = &t["settings"]["branding"]["logo"];
    assert_eq!(logo["content_type"], "image/png", "{t}");
    assert_eq!(logo["bytes"], PNG.len());
    let version = logo["version"].as_str().unwrap().to_string();

    let served = b.get("/t/shop/logo").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.body, PNG);
    assert_eq!(served.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(
        served.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let page = unescape(&b.get("/t/shop/login").await.text());
    assert!(
        page.contains(&format!("src=\"/t/shop/logo?v={version}\"")),
        "{page}"
    );

    // A settings update cannot forge or drop the logo reference.
    patch_settings(&api, "shop", |s| {
        s["branding"]["logo"] = json!({"content_type": "image/png", "version": "0000", "bytes": 1})
    })
    .await;
    let t = api.get("/tenants/shop").await.expect(200);
    assert_eq!(t["settings"]["branding"]["logo"]["version"], version);

    // An SVG is served in a sandbox where its script cannot run.
    put("image/svg+xml", SCRIPTED_SVG.as_bytes().to_vec())
        .await
        .expect(200);
    let svg = b.get("/t/shop/logo").await;
    assert_eq!(svg.header("content-type").as_deref(), Some("image/svg+xml"));
    let csp = svg.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("style-src 'unsafe-inline'")
            && csp.contains("sandbox"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "{csp}");

    // Bad input.
    put("image/gif", b"GIF89a".to_vec())
        .await
        .expect_error(415, "unsupported_media_type");
    put("text/html", b"<html></html>".to_vec())
        .await
        .expect_error(415, "unsupported_media_type");
    let m = put("image/png", SCRIPTED_SVG.as_bytes().to_vec())
        .await
        .expect_error(400, "invalid_request");
    assert!(m.contains("not a image/png"), "{m}");
    put("image/png", Vec::new())
        .await
        .expect_error(400, "invalid_request");
    let mut big = PNG.to_vec();
    big.resize(300 * 1024, 0);
    put("image/png", big)
        .await
        .expect_error(413, "payload_too_large");
    assert_eq!(
        b.get("/t/shop/logo")
            .await
            .header("content-type")
            .as_deref(),
        Some("image/svg+xml"),
        "refused uploads change nothing"
    );
    let no_key = api.with_key(None);
    assert_eq!(
        no_key
            .send_raw(
                reqwest::Method::PUT,
                "/tenants/shop/branding/logo",
                Some("image/png"),
                PNG.to_vec()
            )
            .await
            .status,
        401
    );

    // Delete.
    let r = api.delete("/tenants/shop/branding/logo").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(b.get("/t/shop/logo").await.status, 404);
    assert!(!unescape(&b.get("/t/shop/login").await.text()).contains("/t/shop/logo"));
    let t = api.get("/tenants/shop").await.expect(200);
    assert!(t["settings"]["branding"].get("logo").is_none(), "{t}");
    api.delete("/tenants/shop/branding/logo")
        .await
        .expect_error(404, "not_found");

    // The endpoints are in the OpenAPI document.
    let doc = api.get("/openapi.json").await.expect(200);
    let path = &doc["paths"]["/api/v1/tenants/{slug}/branding/logo"];
    assert!(
        path["put"].is_object() && path["delete"].is_object(),
        "{path}"
    );
}

async fn operator_translations(backend: Backend) {
    let dep = Deployment::new(backend);
    let dir = dep.dir().join("locales");
    std::fs::create_dir_all(dir.join("de")).unwrap();
    std::fs::create_dir_all(dir.join("fr")).unwrap();
    std::fs::write(dir.join("de/ours.ftl"), "login-title = Willkommen zurück\n").unwrap();
    std::fs::write(
        dir.join("fr/pages.ftl"),
        "login-title = Connexion\nlogin-submit = Se connecter\n",
    )
    .unwrap();
    let dir_s = dir.display().to_string();
    let server = dep.start_with(&[("TESSERA_LOCALES_DIR", &dir_s)]).await;
    let api = server.admin_api().await;
    customer_tenant(&api, "shop", "Shop").await;
    let b = Browser::cookieless(&server);
    let de = b
        .get_with_headers("/t/shop/login", &[("accept-language", "de")])
        .await;
    assert_eq!(h1(&de), "Willkommen zurück", "the operator's string wins");
    assert!(de.text().contains("Passwort vergessen?"), "the others stay");
    let fr = b
        .get_with_headers("/t/shop/login", &[("accept-language", "fr-FR, en;q=0.5")])
        .await;
    assert_eq!(html_lang(&fr), "fr", "an added language");
    assert_eq!(h1(&fr), "Connexion");
    assert!(fr.text().contains("Se connecter"));
    assert!(
        fr.text().contains("Forgot your password?"),
        "missing strings in English"
    );
    drop(server);

    // A syntax error stops start-up and names the file and line.
    std::fs::write(dir.join("de/broken.ftl"), "fine = yes\n= no identifier\n").unwrap();
    let (status, log) = dep
        .serve_expecting_exit(&[("TESSERA_LOCALES_DIR", &dir_s)])
        .await;
    assert!(!status.success());
    assert!(log.contains("broken.ftl:2:"), "{log}");
    assert!(log.contains("TESSERA_LOCALES_DIR"), "{log}");
}

on_both_backends!(
    german_sign_in_page,
    german_email_with_branding,
    branding_on_pages,
    logo_api,
    operator_translations,
);
