# Tessera account portal ({issuer}/account): English.
#
# The page, its messages and the emails it sends. Every message gets $product. Messages whose id
# ends in -html may contain markup; their arguments are escaped.

## The page

account-title = Your account
account-heading = Your account
account-email = Email
account-name = Name
account-signed-in-since = Signed in since
account-sections = Account sections
account-nav-profile = Profile
account-nav-email = Email address
account-nav-password = Password
account-nav-security = Sign-in methods and two-step verification
account-nav-sessions = Sessions and devices
account-nav-apps = Connected applications
account-nav-data = Your data
account-nav-delete = Delete your account
account-reauth-html = Changing your email address, setting a password, downloading your data and deleting your account need a recent sign-in: <a href="{ $link }" id="reauth-link">confirm it's you</a>.
account-optional = (optional)
account-sign-out = Sign out

account-profile-heading = Profile
account-profile-empty = There is nothing to edit in your profile here.
account-profile-save = Save profile
account-field-name = Full name
account-field-given-name = First name
account-field-family-name = Last name
account-field-phone = Phone number

account-email-heading = Email address
account-email-current-html = Your address is <strong>{ $email }</strong>.
account-email-verified = It is confirmed.
account-email-unverified = It is not confirmed yet.
account-new-email = New email address
account-new-email-hint = We send a link to the new address. Your address changes when you open it; until then you keep signing in with { $email }.
account-change-email = Change email address
account-email-reauth-html = To change it, <a href="{ $link }">confirm it's you</a> first.

account-password-heading = Password
account-current-password = Current password
account-passwordless = Your account has no password: you sign in with codes, links or a passkey. You can add a password.
account-new-password = New password
account-new-password-hint = At least { $min } characters. A few unrelated words make a strong password. Your other sessions end when you change it.
account-change-password = Change password
account-set-password = Set a password
account-password-reauth-html = Your account has no password. To add one, <a href="{ $link }">confirm it's you</a> first.

account-sessions-heading = Sessions and devices
account-this-device = this device
account-session-ip = IP address { $ip }
account-session-times-html = signed in <time datetime="{ $created }">{ $created }</time> · last seen <time datetime="{ $seen }">{ $seen }</time>
account-session-revoke = Sign out this session
account-session-revoke-label = Sign out { $device }, signed in { $created }
account-revoke-others = Sign out all other sessions
account-device-unknown = Unknown device
account-device-browser-on-os = { $browser } on { $os }
account-device-browser = { $browser }
account-device-os = A browser on { $os }

account-apps-heading = Connected applications
account-app-access-html = <strong>{ $app }</strong> can use: { $scopes } (since <time datetime="{ $since }">{ $since }</time>)
account-app-remove = Remove access
account-app-remove-label = Remove access of { $app }
account-no-apps = No application has access to your account.

account-data-heading = Your data
account-data-intro = Download everything we hold about you (profile, sessions, sign-in methods, applications, activity) as a JSON file.
account-data-download = Download my data
account-data-reauth-note = (you will be asked to confirm it's you)

account-delete-heading = Delete your account
account-delete-grace = Your account is closed at once (you are signed out everywhere) and deleted after { $days ->
    [one] one day
   *[other] { $days } days
  }. Until then, the support of { $product } can restore it.
account-delete-now = Your account and everything in it are deleted at once. This cannot be undone.
account-delete-confirm-label = Type your email address to confirm
account-delete-button = Delete my account
account-delete-reauth-html = To delete your account, <a href="{ $link }">confirm it's you</a> first.

## What a form says afterwards

account-done-profile = Your profile was saved.
account-done-email = We sent a link to your new address. Your address changes when you open it; until then, keep signing in with this one.
account-done-password = Your password was changed. Your other sessions were signed out.
account-done-password-set = Your password was set. Your other sessions were signed out.
account-done-session = The session was signed out.
account-done-sessions = All your other sessions were signed out.
account-done-app = The application no longer has access to your account.

account-error-form = The form could not be read. Please try again.
account-error-expired = This form has expired. Please try again.
account-error-attention = Some details need your attention.
account-error-reauth = For your security, confirm it's you (sign in again) before doing this.
account-error-throttled = Too many attempts. Try again in { $minutes ->
    [one] one minute
   *[other] { $minutes } minutes
  }.
account-error-busy = The service is very busy right now. Please try again in a few seconds.
account-error-unavailable = This is temporarily unavailable. Please try again.
account-error-choose-app = Choose an application to remove.
account-error-no-app = This application has no access to remove.
account-error-choose-session = Choose a session to sign out.
account-error-current-session = This is the session you are using: to end it, sign out.
account-error-session-ended = That session has already ended.
account-error-not-deleted = Your account was not deleted.
account-error-export = Your data could not be gathered right now. Please try again.
account-profile-incomplete = The form is incomplete. Reload the page and try again.
account-profile-required = { $field } cannot be empty.
account-profile-too-long = { $field } can have at most { $max } characters.
account-profile-control = { $field } cannot contain line breaks or other control characters.
account-profile-invalid = { $field } cannot be used.
account-profile-phone = Enter a phone number of digits with an optional leading +, such as +14155550100.
account-email-invalid = Enter a valid email address, such as name@example.com.
account-email-too-long = Enter an email address of at most 254 characters.
account-email-same = That is already your email address.
account-email-domain = Addresses at { $domain } cannot be used here. Use another email address.
account-password-enter-current = Enter your current password.
account-password-enter-new = Enter a new password.
account-password-wrong = Your current password is not right.
account-delete-type-email = Type your email address to confirm that you want to delete your account.
account-delete-wrong-email = That is not the email address of your account. Type it exactly as shown above.

## The new address's confirmation page

account-email-confirm-title = Confirm your new email address
account-email-confirm-intro = Your account will use this address from now on.
account-email-confirm-button = Use this email address
account-email-changed-heading = Your email address was changed
account-email-changed-html = From now on, sign in with <strong id="changed-email">{ $email }</strong>.
account-email-go-to-account = Go to your account
account-email-bad-link = This link has expired, was already used, or can no longer be used.
account-email-bad-link-help-html = Your email address was not changed. If you still want to change it, start again from <a href="{ $link }">your account</a>.

## After "delete my account"

account-deleted-title = Your account was deleted
account-deleted-heading = Your account was deleted
account-deleted-text = Your account and the data in it are gone, and you are signed out everywhere. We sent a confirmation to your email address.
account-closed-heading = Your account is closed
account-closed-html = You are signed out everywhere. Your account will be deleted on <time datetime="{ $due_at }" id="due-date">{ $due_date }</time>. Until then, the support of { $product } can restore it; after that, it is gone for good.

## Emails

account-mail-email-change-subject = Confirm your new email address for { $product }
account-mail-email-change-title = Confirm your new email address
account-mail-email-change-intro = You asked to use this address for your { $product } account. Open this link to confirm it (it works once and expires in { $minutes } minutes):
account-mail-email-change-intro-html = You asked to use this address for your <strong>{ $product }</strong> account. Confirm it with the button below.
account-mail-email-change-button = Use this email address
account-mail-email-change-outro = Until you do, your account keeps its current address. If you did not ask for this, you can ignore this message: nothing changes.
account-mail-email-change-outro-html = The link works once and expires in { $minutes } minutes. Until you confirm, your account keeps its current address. If you did not ask for this, you can ignore this message: nothing changes.

account-mail-notice-subject = Your { $product } email address is being changed
account-mail-notice-title = Your email address is being changed
account-mail-notice-intro = At { $time } (UTC), someone signed in to your { $product } account asked to move it to the address { $email }. A confirmation link went to that address; the change happens only when it is opened (within { $minutes } minutes).
account-mail-notice-intro-html = At { $time } (UTC), someone signed in to your <strong>{ $product }</strong> account asked to move it to the address <strong>{ $email }</strong>. A confirmation link went to that address; the change happens only when it is opened (within { $minutes } minutes).
account-mail-notice-not-you = If this was you, there is nothing more to do. If it was not, someone else may be signed in to your account: choose a new password right away (this signs everyone out) and contact the support of { $product }:
account-mail-notice-not-you-html = If this was you, there is nothing more to do. If it was not, someone else may be signed in to your account: choose a new password right away (this signs everyone out) and contact the support of { $product }.

account-mail-taken-subject = This address already has a { $product } account
account-mail-taken-title = This address already has an account
account-mail-taken-intro = Someone signed in to a { $product } account asked to move that account to this email address. This address already belongs to another { $product } account, so nothing was changed.
account-mail-taken-intro-html = Someone signed in to a <strong>{ $product }</strong> account asked to move that account to this email address. This address already belongs to another { $product } account, so nothing was changed.
account-mail-taken-yours = If that other account is yours, sign in with this address. If you do not remember how, you can get back in here:
account-mail-taken-ignore = If you did not ask for this, you can ignore this message.

account-mail-password-subject = Your { $product } password was changed
account-mail-password-title = Your password was changed
account-mail-password-intro = The password of your { $product } account was changed in your account settings at { $time } (UTC). Your other sessions were signed out.
account-mail-password-intro-html = The password of your <strong>{ $product }</strong> account was changed in your account settings at { $time } (UTC). Your other sessions were signed out.
account-mail-password-not-you = If you did this, there is nothing more to do. If you did not, someone else may be signed in to your account: choose a new password here, which signs everyone out:
account-mail-password-not-you-html = If you did this, there is nothing more to do. If you did not, someone else may be signed in to your account: choose a new password, which signs everyone out.

account-mail-scheduled-subject = Your { $product } account will be deleted on { $date }
account-mail-scheduled-title = Your account will be deleted
account-mail-scheduled-intro = At { $time } (UTC) you asked to delete your { $product } account. It is closed now: you were signed out everywhere and nobody can sign in to it. On { $date } it will be deleted for good, with the data in it.
account-mail-scheduled-intro-html = At { $time } (UTC) you asked to delete your <strong>{ $product }</strong> account. It is closed now: you were signed out everywhere and nobody can sign in to it. On <strong>{ $date }</strong> it will be deleted for good, with the data in it.
account-mail-scheduled-restore = If you change your mind before then, contact the support of { $product }: they can restore your account. If you did not ask for this, contact them right away.

account-mail-deleted-subject = Your { $product } account was deleted
account-mail-deleted-title = Your account was deleted
account-mail-deleted-intro = Your { $product } account was deleted at { $time } (UTC), as you asked, together with the data in it. You were signed out everywhere, and applications you used with it were told.
account-mail-deleted-intro-html = Your <strong>{ $product }</strong> account was deleted at { $time } (UTC), as you asked, together with the data in it. You were signed out everywhere, and applications you used with it were told.
account-mail-deleted-last = This is the last message about this account. If you did not ask for this, contact the support of { $product }.
