# Tessera emails: English. Subjects are one line. $product is the tenant's product name (or
# its name). Messages whose id ends in -html are used in the HTML part only.

## Shared

email-footer = This message was sent by { $product }. If you did not expect it, you can ignore it.
email-or-open-link = Or open this link:
email-link-label = Link:
email-or-enter-code = Or enter this code on the confirmation page:
email-choose-new-password = Choose a new password
email-confirm-address = Confirm my address
email-get-back-in = Get back into my account

## Sign-in codes and links

email-code-subject = { $code } is your { $product } sign-in code
email-code-title = Your { $product } sign-in code
email-code-intro = Your sign-in code for { $product } is:
email-code-intro-html = Your sign-in code for <strong>{ $product }</strong> is:
email-code-expiry = It expires in { $minutes } minutes. If you did not try to sign in, someone may know your password: change it.
sign-in-or-link = Or open this link in the same browser to sign in:
sign-in-or-link-html = Or <a href="{ $link }">open this link in the same browser</a> to sign in.
sign-in-expiry-code = The code works once and expires in { $minutes } minutes.
sign-in-expiry-code-and-link = The code and the link work once and expire in { $minutes } minutes.
sign-in-not-you = If you did not try to sign in, you can ignore this message.
sign-in-not-you-second-factor = If you did not try to sign in, you can ignore this message, but someone may know your password: change it.
magic-link-subject = Sign in to { $product }
magic-link-intro = Open this link to sign in to { $product }:
magic-link-intro-html = Select the button to sign in to <strong>{ $product }</strong>.
magic-link-expiry = The link works once and expires in { $minutes } minutes. If you did not ask to sign in, you can ignore this message.

## Email verification

verify-email-subject = Confirm your email address for { $product }
verify-email-title = Confirm your email address
verify-email-intro = Open this link to confirm that this address belongs to your { $product } account:
verify-email-intro-html = Confirm that this address belongs to your <strong>{ $product }</strong> account.
verify-email-expiry = The link expires in { $minutes } minutes. If you did not create an account, you can ignore this message.
verify-email-code-expiry = The link and the code work once and expire in { $minutes } minutes. If you did not create an account, you can ignore this message.

## Passwords and recovery

password-reset-subject = Reset your { $product } password
password-reset-title = Reset your password
password-reset-intro = Someone (hopefully you) asked to reset the password of your { $product } account. Open this link to choose a new one:
password-reset-intro-html = Someone (hopefully you) asked to reset the password of your <strong>{ $product }</strong> account.
password-reset-expiry = The link works once and expires in { $minutes } minutes. If you did not ask for this, ignore this message: your password stays as it is.
password-changed-subject = Your { $product } password was changed
password-changed-title = Your password was changed
password-changed-intro = The password of your { $product } account was changed at { $time } (UTC), and you were signed out everywhere.
password-changed-intro-html = The password of your <strong>{ $product }</strong> account was changed at { $time } (UTC), and you were signed out everywhere.
password-changed-not-you = If you did this, there is nothing more to do. If you did not, someone else may have access to your email: secure your mailbox, then choose a new password here:
password-changed-not-you-html = If you did this, there is nothing more to do. If you did not, someone else may have access to your email: secure your mailbox, then choose a new password.
recovery-passwordless-subject = Get back into your { $product } account
recovery-passwordless-title = Get back into your account
recovery-passwordless-intro = Someone (hopefully you) asked to get back into the { $product } account of this address. Your account signs in without a password: you sign in with a code or link sent to this address.
recovery-passwordless-intro-html = Someone (hopefully you) asked to get back into the <strong>{ $product }</strong> account of this address. Your account signs in without a password: you sign in with a code or link sent to this address.
recovery-passwordless-open-link = Open this link to confirm the address, then sign in as usual:
recovery-passwordless-expiry = The link and the code work once and expire in { $minutes } minutes. If you did not ask for this, ignore this message.

## Registration

registration-exists-subject = Someone tried to create a { $product } account with your address
registration-exists-title = You already have an account
registration-exists-intro = Someone (perhaps you) just tried to create a { $product } account with this email address. You already have an account, so nothing was changed.
registration-exists-intro-html = Someone (perhaps you) just tried to create a <strong>{ $product }</strong> account with this email address. You already have an account, so nothing was changed.
registration-exists-sign-in = If it was you, sign in with your existing account. If you do not remember how, this link lets you back in (it works once and expires in { $minutes } minutes):
registration-exists-sign-in-html = If it was you, sign in with your existing account. If you do not remember how, this link lets you back in:
registration-exists-expiry = The link works once and expires in { $minutes } minutes. If it was not you, you can ignore this message: your account is unchanged.
registration-exists-not-you = If it was not you, you can ignore this message: your account is unchanged.

## Operators

test-subject = Test message from { $product }
test-intro = This is a test message from { $product }.
test-intro-html = This is a test message from <strong>{ $product }</strong>.
test-body = An administrator asked Tessera to send it at { $time } to check that email delivery works. Nothing needs to be done.

## New sign-in notice (risk engine)
new-sign-in-subject = New sign-in to your { $product } account
new-sign-in-intro = Your { $product } account was just signed in to from a device or place it has not been used from before.
new-sign-in-when = When: { $when }
new-sign-in-where = Where (approximately): { $place }
new-sign-in-browser = Browser: { $browser }
new-sign-in-if-you = If this was you, there is nothing to do.
new-sign-in-not-you = If it was not you, open this link: everyone is signed out of your account, your password stops working, and we send you a link to choose a new one.
new-sign-in-button = This wasn't me
