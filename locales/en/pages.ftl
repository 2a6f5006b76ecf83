# Tessera hosted pages: English.
#
# Every message gets $product (the tenant's product name, or its name). Messages whose id ends
# in -html may contain markup; their arguments are escaped. See docs/branding-i18n.md.

## Shared

support-link = Need help?
back-to-sign-in = Back to sign in
start-over = Start over
field-email = Email
field-password = Password
field-new-password = New password
field-code-6 = 6-digit code
field-code-from-email = Code from the email
field-name-optional = Name (optional)
field-optional-suffix = (optional)
field-required-suffix = (required)
button-confirm = Confirm
button-verify = Verify
button-sign-in = Sign in
button-continue = Continue
password-optional-hint = Or leave it empty and sign in with a code we email you.
password-hint = At least { $min } characters. A few unrelated words make a strong password.
link-broken-heading = This link does not work
error-try-again = Try again
totp-qr-label = QR code of the authenticator app key
totp-open-app = Open in an authenticator app on this device
totp-name-placeholder = e.g. Phone

## Sign-in

login-title = Sign in
login-submit = Sign in
login-passkey = Sign in with a passkey
login-email-code-instead = Email me a sign-in code instead
login-email-link-instead = Email me a sign-in link instead
login-forgot-password = Forgot your password?
login-register = Create an account

## Sign-out

logout-title = Sign out
logout-heading = Sign out?
logout-submit = Sign out
logout-done-heading = You are signed out
logout-sign-in-again = Sign in again

## Consent and devices

consent-title = Allow access
consent-heading = Allow { $client }?
consent-asks-html = <strong>{ $client }</strong> asks to:
consent-allow = Allow
consent-deny = Deny
device-title = Connect a device
device-confirm-heading = Connect { $client }?
device-code-html = Code <strong id="user-code">{ $code }</strong>. Only continue if this code is shown on your device.
device-code-label = Code shown on your device
device-continue = Continue

## Registration

register-title = Create an account
register-choose = Choose…
register-accept-terms-html = I accept the <a href="{ $url }" rel="noopener noreferrer" target="_blank">terms of service</a> (version { $version })
register-honeypot = Leave this field empty (it catches automated sign-ups)
register-submit = Create account
register-have-account = Already have an account?
check-email-title = Check your email
check-email-recovery-html = If an account uses <strong>{ $email }</strong>, we have sent it a link to get back in. The link works once and expires soon.
check-email-recovery-spam = No message after a few minutes? Check your spam folder, or make sure you typed the address you signed up with.
check-email-register-html = We have sent a message to <strong>{ $email }</strong>. Open the link in it to confirm your address, or enter the 6-digit code from the message here.

## Email verification

verify-title = Confirm your email address
verify-done-heading = Your email address is confirmed
verify-done-message-html = Thank you. <strong>{ $email }</strong> is confirmed.
verify-confirm-button = Confirm my email address
verify-bad-link-html = If you still need to confirm your address, enter the code from the newest message below, or <a href="{ $link }">request a new link</a>.
verify-enter-code = Enter a code

## Password recovery

forgot-title = Forgot your password?
forgot-intro = Enter the email address of your account. We will send you a link to choose a new password.
forgot-submit = Send me a link
reset-title = Choose a new password
reset-done-heading = Your password was changed
reset-done-message = You were signed out everywhere. Sign in with your new password.
reset-request-new = Request a new link
reset-submit = Set new password

## Sign-in by email

email-signin-title = Sign in with email
email-signin-sent-code-and-link = If an account exists for { $email }, we sent it a sign-in code and a link. It expires in { $minutes } minutes. Open the link in this browser.
email-signin-sent-code = If an account exists for { $email }, we sent it a sign-in code. It expires in { $minutes } minutes.
email-signin-sent-link = If an account exists for { $email }, we sent it a sign-in link. It expires in { $minutes } minutes. Open the link in this browser.
email-signin-send-code = Email me a code
email-signin-send-link = Email me a link
email-signin-other-way = Sign in another way
email-link-intro = Continue to sign in with the link from your email.

## Second factor

mfa-title = Verify it's you
mfa-intro = Your account is protected with a second factor.
mfa-step-up-intro = This application asks for a second factor.
mfa-webauthn-heading = Security key or passkey
mfa-webauthn-use = Use a security key or passkey
mfa-remember = { $days ->
    [one] Don't ask again on this device for { $days } day
   *[other] Don't ask again on this device for { $days } days
}
mfa-totp-heading = Authenticator app
mfa-totp-code = 6-digit code from your app
mfa-email-heading = Code by email
mfa-email-resend = Send a new code
mfa-email-send = Email me a code
mfa-recovery-summary = Use a recovery code
mfa-recovery-label = Recovery code
mfa-recovery-submit = Use recovery code
mfa-none-webauthn-only = This application needs a security key or passkey, and none is registered for your account. Contact your administrator.
mfa-none = No way to verify is available for your account. Contact your administrator.
enroll-title = Set up a second factor
enroll-intro = Your organization requires a second factor to sign in. Set one up now.
enroll-webauthn-placeholder = e.g. YubiKey
enroll-webauthn-add = Add a security key or passkey
enroll-totp-scan = Scan this QR code with an authenticator app.
enroll-totp-type-key = Or type this key:
enroll-totp-enter-code = Enter the 6-digit code the app shows.
codes-title = Your recovery codes
codes-heading = Save your recovery codes
codes-intro = If you lose your second factor, each of these codes lets you sign in once. Keep them somewhere safe: they are shown only now.
codes-continue = I have saved them, continue

## Sign-in methods (account security)

security-title = Security
security-heading = Sign-in methods
security-back = Back to your account
security-new-codes-heading = Your new recovery codes
security-new-codes-intro = Each code lets you sign in once if you lose your second factor. Save them now: they are shown only once.
security-factors-heading = Your factors
security-added = added
security-last-used = last used
security-new-name = New name
security-rename = Rename
security-remove = Remove
security-remove-label = Remove { $name }
security-no-factors = You have no second factor yet.
security-recovery-left = Unused recovery codes: { $count }
security-reauth-html = To add or change sign-in methods, <a href="{ $link }" id="reauth-link">confirm it's you</a> first.
security-webauthn-heading = Add a passkey or security key
security-webauthn-placeholder = e.g. Laptop
security-totp-heading = Add an authenticator app
security-totp-intro-html = Scan the QR code with an authenticator app, or type the key <code id="totp-secret">{ $secret }</code>, then enter the code it shows.
security-totp-submit = Add authenticator app
security-new-codes-button = Make new recovery codes

## Sign-in with identity providers (federation)

login-continue-with = Continue with { $provider }
federation-error-heading = Sign-in did not work
federation-error-declined = The sign-in was cancelled at the provider. You can try again or sign in another way.
federation-error-rejected = The answer from the sign-in provider could not be accepted. Please start again.
federation-error-upstream = The sign-in provider could not be reached. Please try again in a moment or sign in another way.
federation-error-no-account = There is no account for this identity here, and accounts are not created automatically. Ask your administrator for access.
federation-error-no-email = The sign-in provider did not share an email address, which an account here needs.
federation-error-disabled = This account is disabled.
federation-error-expired = This sign-in has expired or was started in another browser. Please start again.
federation-error-linked-elsewhere = This identity is already connected to another account.
federation-error-unknown-provider = This sign-in provider is not available.
federation-link-title = Connect your existing account
federation-link-intro = An account for { $email } already exists. To sign in to it with { $provider } from now on, first confirm that the account is yours.
federation-link-sign-in = Sign in to the existing account
federation-verify-title = Confirm your email address
federation-verify-intro = { $provider } did not confirm that { $email } is yours. We will send a code to this address to create your account.
federation-code-sent = We sent a code to { $email }. It expires in { $minutes } minutes.
federation-code-submit = Confirm
federation-code-resend = Send a new code
federation-code-send = Email a code to { $email }
federation-link-cancel = Cancel and sign in another way
federation-link-other-account = You signed in to a different account. Sign in to the account named above to connect it.
federation-link-sign-in-first = Sign in to the existing account first.
federation-identities-title = Sign-in providers
federation-identities-intro = These providers can sign you in to your account.
federation-identities-linked = connected
federation-identities-last-used = last used
federation-identities-remove = Disconnect
federation-identities-remove-label = Disconnect { $provider }
federation-identities-none = No sign-in provider is connected to your account.
federation-identities-connect-heading = Connect a provider
federation-identities-connect = Connect { $provider }
federation-identity-last-method = This is your only way to sign in: set a password or add a passkey before disconnecting it.
federation-identity-not-found = This connection no longer exists.
federation-identity-removed = The provider was disconnected.
account-nav-identities = Sign-in providers

## "This wasn't me" (new sign-in notice)
not-me-title = Secure your account
not-me-explain = You reported a sign-in you did not make. Confirm to sign everyone out of your account and disable its password; we will email you a link to choose a new one.
not-me-button = Sign everyone out and reset my password
not-me-done-heading = Your account is secured
not-me-done-message = Every session of your account has ended and its password no longer works. Check your email for a link to choose a new password.
not-me-bad-link = This link is unknown, was already used, or has expired.
not-me-forgot-link = Reset your password
