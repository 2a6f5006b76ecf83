"""Tessera with Python relying-party libraries.

authlib: the authorization code flow with PKCE (S256) through the real hosted sign-in page
(driven with a requests session as the browser), ID token validation with authlib.jose against the
JWKS (signature, iss, aud, nonce, at_hash), UserInfo, refresh, client credentials, introspection
and revocation. idpyoidc: the discovery document read into its provider-info model and verified.

Configuration (environment): TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET,
TESSERA_REDIRECT_URI, TESSERA_MACHINE_CLIENT_ID, TESSERA_MACHINE_CLIENT_SECRET,
TESSERA_MACHINE_SCOPE, TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD.

Prints one JSON summary line; exits non-zero on any failure.
"""

import html
import json
import os
import re
import sys
import warnings
from importlib.metadata import version
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

# authlib.jose announces its move to joserfc; it is still the documented way in authlib 1.x.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

from idpyoidc.client.entity import Entity
from idpyoidc.message.oidc import ProviderConfigurationResponse

TIMEOUT = 30


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def check(condition, message):
    if not condition:
        raise AssertionError(f"check failed: {message}")


def hidden_input(page, name):
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    check(m is not None, f"the page has an input {name}")
    return html.unescape(m.group(1))


def sign_in_through_hosted_page(authorization_url, email, password, redirect_uri):
    """From the authorization URL to the redirect back to the application, as a browser goes."""
    browser = requests.Session()
    r = browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    check(r.status_code == 303, f"authorize redirects to the sign-in page (got {r.status_code})")
    login_url = urljoin(authorization_url, r.headers["location"])
    r = browser.get(login_url, timeout=TIMEOUT)
    check(r.status_code == 200, f"the sign-in page opens (got {r.status_code})")
    form = {
        "email": email,
        "password": password,
        "csrf_token": hidden_input(r.text, "csrf_token"),
        "return_to": hidden_input(r.text, "return_to"),
    }
    post_url = urljoin(login_url, urlparse(login_url).path)
    r = browser.post(post_url, data=form, allow_redirects=False, timeout=TIMEOUT)
    # RFC 9700 §4.12: a redirect after a form with a password is 303, never 307.
    check(r.status_code == 303, f"signing in answers 303 (got {r.status_code}: {r.text[:300]})")
    url = post_url
    for _ in range(5):
        location = urljoin(url, r.headers["location"])
        if location.startswith(redirect_uri):
            return location
        url = location
        r = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        check(r.status_code in (302, 303), f"GET {url} redirects (got {r.status_code})")
    raise AssertionError("check failed: no redirect to the application within 5 hops")


def main():
    issuer = env("TESSERA_ISSUER")
    redirect_uri = env("TESSERA_REDIRECT_URI")
    client_id = env("TESSERA_CLIENT_ID")
    discovery_url = issuer + "/.well-known/openid-configuration"
    r = requests.get(discovery_url, timeout=TIMEOUT)
    r.raise_for_status()
    meta = r.json()

    # idpyoidc: the document into its provider-info model, verified (http allowed for the test),
    # and discovery as its relying-party entity does it (it checks the issuer matches).
    pcr = ProviderConfigurationResponse().from_json(r.text)
    verified = pcr.verify(allow_http=True)
    check(pcr["issuer"] == issuer, "idpyoidc reads the issuer")
    rp = Entity(
        config={
            "issuer": issuer,
            "client_id": client_id,
            # idpyoidc refuses secrets shorter than 16 characters; Tessera's are 43.
            "client_secret": env("TESSERA_CLIENT_SECRET"),
            "redirect_uris": [redirect_uri],
            "allow": {"issuer_mismatch": False},
        },
        services={
            "discovery": {
                "class": "idpyoidc.client.oidc.provider_info_discovery.ProviderInfoDiscovery"
            }
        },
        client_type="oidc",
    )
    discovery_service = rp.get_service("provider_info")
    request = discovery_service.get_request_parameters()
    check(request["url"] == discovery_url, f"idpyoidc asks {request['url']}")
    info = discovery_service.parse_response(
        requests.get(request["url"], timeout=TIMEOUT).text, sformat="json"
    )
    discovery_service.update_service_context(info)
    rp_provider_info = rp.get_context().provider_info

    # authlib: code flow with PKCE, client_secret_basic.
    client = OAuth2Session(
        client_id,
        env("TESSERA_CLIENT_SECRET"),
        scope="openid email profile",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        timeout=TIMEOUT,
    )
    code_verifier = generate_token(48)
    nonce = generate_token(20)
    authorization_url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    callback = sign_in_through_hosted_page(
        authorization_url, env("TESSERA_USER_EMAIL"), env("TESSERA_USER_PASSWORD"), redirect_uri
    )
    response_params = {k: v[0] for k, v in parse_qs(urlparse(callback).query).items()}
    # authlib does not check RFC 9207's iss; the application does.
    check(response_params.get("iss") == meta["issuer"], "iss in the authorization response")
    token = client.fetch_token(
        meta["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=code_verifier,
    )

    jwks = requests.get(meta["jwks_uri"], timeout=TIMEOUT).json()
    claims = jwt.decode(
        token["id_token"],
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
        claims_params={
            "nonce": nonce,
            "client_id": client_id,
            "access_token": token["access_token"],
        },
    )
    claims.validate(leeway=60)

    userinfo = client.get(meta["userinfo_endpoint"], timeout=TIMEOUT)
    userinfo.raise_for_status()

    refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    check(refreshed["refresh_token"] != token["refresh_token"], "refresh tokens rotate")
    refreshed_claims = jwt.decode(
        refreshed["id_token"],
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
        claims_params={"client_id": client_id, "access_token": refreshed["access_token"]},
    )
    refreshed_claims.validate(leeway=60)

    introspection = client.introspect_token(
        meta["introspection_endpoint"], token=refreshed["access_token"]
    )
    introspection.raise_for_status()

    # Client credentials, client_secret_post this time.
    machine = OAuth2Session(
        env("TESSERA_MACHINE_CLIENT_ID"),
        env("TESSERA_MACHINE_CLIENT_SECRET"),
        scope=env("TESSERA_MACHINE_SCOPE"),
        token_endpoint_auth_method="client_secret_post",
        timeout=TIMEOUT,
    )
    cc = machine.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    machine_introspection = machine.introspect_token(
        meta["introspection_endpoint"], token=cc["access_token"]
    )
    machine_introspection.raise_for_status()

    # Revoking the refresh token ends the grant, its access tokens included.
    revoked = client.revoke_token(
        meta["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    check(revoked.status_code == 200, f"revocation answers 200 (got {revoked.status_code})")
    refresh_after = client.introspect_token(
        meta["introspection_endpoint"], token=refreshed["refresh_token"]
    ).json()
    access_after = client.introspect_token(
        meta["introspection_endpoint"], token=refreshed["access_token"]
    ).json()

    summary = {
        "ok": True,
        "library": "authlib",
        "versions": {p: version(p) for p in ("authlib", "requests", "idpyoidc")},
        "discovery": {"issuer": meta["issuer"], "token_endpoint": meta["token_endpoint"]},
        "idpyoidc": {
            "issuer": pcr["issuer"],
            "token_endpoint": pcr["token_endpoint"],
            "verified": verified is True,
            "rp_token_endpoint": rp_provider_info["token_endpoint"],
            "rp_jwks_uri": rp_provider_info["jwks_uri"],
        },
        "authorization_response": {"iss": response_params.get("iss")},
        "id_token_claims": dict(claims),
        "userinfo": userinfo.json(),
        "refresh": {"rotated": True, "id_token_sub": refreshed_claims["sub"]},
        "client_credentials": {"scope": cc.get("scope"), "token_type": cc.get("token_type")},
        "introspection": introspection.json(),
        "machine_introspection": machine_introspection.json(),
        "revocation": {
            "refresh_token_active_after": refresh_after["active"],
            "access_token_active_after": access_after["active"],
        },
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
