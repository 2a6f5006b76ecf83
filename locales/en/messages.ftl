# Tessera hosted pages: messages the server puts on pages (errors, notices). English.

## Shared

msg-form-unreadable = The form could not be read. Please try again.
msg-form-unreadable-short = The form could not be read.
msg-form-expired = This form has expired. Please try again.
msg-try-again = Please try again.
msg-try-again-later = Please try again in a moment.
msg-busy = The service is very busy right now. Please try again in a few seconds.
msg-unavailable = Temporarily unavailable
msg-enter-valid-email = Enter a valid email address, such as name@example.com.
msg-page-not-found = Page not found
msg-not-available = Not available
msg-policy-denied = Your organization's access policy does not allow this sign-in (for example from this network or at this time).

## Sign-in

login-error-form-expired = This form has expired. Please sign in again.
login-error-missing = Enter your email and password.
login-error-invalid = Incorrect email or password.
login-error-unverified = Confirm your email address first: open the link we sent you, then sign in. No email? Use "Forgot your password?" to get a new link.
login-error-throttled = Too many failed attempts. Try again in { $seconds } seconds.
login-error-busy = Sign-in is very busy right now. Please try again in a few seconds.
msg-pow-needed = Your browser has to finish a short security check first. Make sure JavaScript is on, wait a moment and send the form again.
login-error-refused = This sign-in was refused for security reasons. If this keeps happening, contact support.
login-error-unavailable = Sign-in is temporarily unavailable. Please try again.

## Sign-in steps (second factor, email)

flow-expired-heading = This sign-in has expired
flow-expired-message = The sign-in took too long, was already completed, or was started in another browser. Please sign in again.
flow-unverified-heading = Confirm your email address first
flow-unverified-message = Open the link we sent to your email address to confirm it, then sign in. If you cannot find it, use "Forgot your password?" to get a new one.
flow-denied-heading = Sign-in not allowed
flow-unavailable-heading = Sign-in is temporarily unavailable
mfa-msg-code-sent = We sent a code to your email address.
mfa-msg-code-too-soon = A code was sent a moment ago. You can ask for another in { $seconds } seconds.
mfa-msg-factor-throttled = Too many wrong codes for this account. Try again in { $seconds } seconds.
mfa-msg-choose = Choose one of the ways offered below.
mfa-msg-too-many-heading = Too many wrong codes
mfa-msg-too-many = For your security this sign-in was stopped. Please sign in again.
mfa-msg-replayed = This code was already used. Wait for the next code in your app.
mfa-msg-expired = This code has expired. Ask for a new one.
mfa-msg-not-sent = Ask for a code first.
mfa-msg-wrong = That code is not right. Check it and try again.
mfa-msg-wrong-totp = That code is not right. Check the time on your phone and try the current code.
mfa-msg-totp-not-offered = Authenticator apps are not offered here.
mfa-msg-form-expired-heading = This form has expired
mfa-msg-go-back = Please go back and try again.
email-msg-not-offered = Sign-in by email is not offered here.
email-msg-too-many = Too many wrong codes. Ask for a new code.
email-msg-enter-email = Enter your email address.
email-msg-too-many-requests = Too many codes were asked for this address. Try again in { $seconds } seconds.
link-msg-heading = This sign-in link cannot be used
link-msg-form-expired = This form has expired. Open the link from your email again.
link-msg-not-offered = Sign-in links are not offered here.
link-msg-incomplete = The link is incomplete. Open it from your email again.
link-msg-used = The link has expired or was already used. Ask for a new one.
link-msg-used-short = The link has expired or was already used.
link-msg-other-browser = Open the link in the same browser where you asked for it.

## Sign-in methods (account security)

security-kind-totp = Authenticator app
security-kind-passkey = Passkey
security-kind-security-key = Security key
security-msg-reauth = For your security, confirm it's you (sign in again) before changing your sign-in methods.
security-msg-totp-added = Authenticator app added.
security-msg-name = Enter a name of at most 64 characters.
security-msg-renamed = Renamed.
security-msg-removed = Removed.
security-msg-gone = That sign-in method no longer exists.
security-msg-recovery-not-offered = Recovery codes are not offered here.
security-msg-new-codes = New recovery codes made; the old ones no longer work.
security-msg-unknown-action = Unknown action.

## Registration

register-closed = This organization does not offer sign-up. Ask its administrator for an account.
register-msg-attention = Some details need your attention.
register-msg-throttled = Too many sign-up attempts from your network. Try again in { $minutes } minutes.
register-msg-busy = Sign-up is very busy right now. Please try again in a few seconds.
register-msg-unavailable = Sign-up is temporarily unavailable. Please try again.
register-field-name = Full name
register-field-given-name = First name
register-field-family-name = Last name
register-field-phone = Phone number
register-field-birthdate = Date of birth

## Password recovery and email verification

recovery-msg-throttled = Too many requests from your network. Try again in { $minutes } minutes.
recovery-msg-check-form = Check the form and try again.
recovery-msg-unavailable = Password recovery is temporarily unavailable. Please try again.
recovery-msg-bad-link = This link has expired or was already used. Request a new one below if you still need it.
recovery-msg-enter-password = Enter a new password.
verify-msg-bad-link = This link has expired or was already used.
verify-msg-unavailable = Verification is temporarily unavailable. Please try again.
verify-msg-missing = Enter your email address and the 6-digit code from the message.
verify-msg-throttled = Too many codes were tried from your network. Try again in { $minutes } minutes.
verify-msg-wrong = That code is not right, or it has expired. Check the newest message we sent, or request a new one.

## Sign-out

logout-msg-invalid = Invalid sign-out request
logout-msg-failed = Sign-out failed

## Applications (authorization, consent, devices)

authorize-expired-heading = Sign-in expired
authorize-expired = This sign-in request has expired or is invalid. Go back to the application and start again.
authorize-invalid-heading = Invalid request
authorize-form-expired-heading = Form expired
authorize-form-expired = This form has expired. Go back to the application and start again.
authorize-request-expired = This request has expired. Go back to the application and start again.
authorize-bad-request-heading = Invalid sign-in request
authorize-bad-request = The application sent an invalid sign-in request ({ $code }): { $description }
scope-openid = Sign you in with your account
scope-profile = See your name and profile details
scope-email = See your email address
scope-phone = See your phone number
scope-address = See your postal address
scope-offline-access = Stay connected while you are away
scope-other = Use the permission "{ $scope }"
device-msg-invalid = That code is not valid or has expired. Check the code on your device.
device-msg-form-expired = This form has expired. Please enter the code again.
device-msg-connected = Device connected
device-msg-denied = Request denied
device-msg-return = You can return to your device.
device-msg-not-given = The device was not given access.
device-msg-used = That code was already used.

## Validation of form fields (the core's checks, shown on pages)

reg-accept-terms = Accept the terms of service to create an account.
reg-birthdate-format = Enter your date of birth as YYYY-MM-DD (for example 1990-04-23).
reg-too-young = You are not old enough to create an account here.
reg-domain-refused = Addresses at { $domain } cannot be used to register here. Use another email address.
reg-domain-disposable = Addresses at { $domain } are disposable (temporary) addresses and cannot be used to register. Use a permanent email address.
reg-enter-name = Enter your name.
reg-enter-given-name = Enter your first name.
reg-enter-family-name = Enter your last name.
reg-enter-phone = Enter your phone number.
reg-enter-birthdate = Enter your date of birth.
reg-attr-tick = Tick “{ $label }” to continue.
reg-attr-fill = Fill in “{ $label }”.
reg-attr-number = “{ $label }” must be a number.
reg-attr-date = “{ $label }” must be a date as YYYY-MM-DD.
reg-attr-control = “{ $label }” must not contain control characters.
reg-attr-choose = Choose one of the offered values for “{ $label }”.
reg-attr-format = “{ $label }” is not in the expected format.
reg-attr-too-long = “{ $label }” must be at most { $max } characters.
password-too-short = This password is too short: use at least { $min } characters.
password-too-long = This password is too long: use at most { $max } characters.
password-common = This password is on a list of commonly used passwords. Choose another one.
password-too-weak = This password is too easy to guess.
