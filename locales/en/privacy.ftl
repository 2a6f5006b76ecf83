# Tessera privacy pages: the preference centre ({issuer}/account/privacy) and the re-consent page
# of a sign-in after a material new policy version ({issuer}/login/policy-update). English.

## Re-consent at sign-in

reconsent-title = Updated terms
reconsent-heading = We have updated our terms
reconsent-intro = Before you continue, please read and accept the new version of these documents. You accepted an earlier version.
reconsent-document = { $kind }, version { $version }
reconsent-previous = you accepted version { $version }
reconsent-accept = Accept and continue
reconsent-decline = Decline
reconsent-choose = Choose to accept or decline.
reconsent-declined-heading = You are not signed in
reconsent-declined-text = You declined the new version, so your sign-in did not continue. Your account is unchanged; you can sign in again at any time and accept it then.
reconsent-back-to-login = Back to sign-in
reconsent-expired-heading = This sign-in has expired
reconsent-expired-text = Please sign in again.

## Preference centre

privacy-title = Privacy and preferences
privacy-heading = Privacy and preferences
privacy-back = Back to your account
privacy-link = Privacy and communication preferences
privacy-consents-heading = What you agreed to
privacy-no-purposes = There is nothing to agree to here.
privacy-state-granted = You agreed.
privacy-state-withdrawn = You withdrew your agreement.
privacy-state-expired = Your agreement expired.
privacy-state-none = You have not decided yet.
privacy-required = Needed to use the service; to end it, delete your account.
privacy-version = version { $version }
privacy-grant = Agree
privacy-withdraw = Withdraw
privacy-basis-consent = based on your consent
privacy-basis-contract = needed for our contract
privacy-basis-legitimate-interest = our legitimate interest
privacy-basis-legal-obligation = a legal obligation
privacy-basis-vital-interest = vital interests
privacy-basis-public-task = a public task
privacy-receipt = Download a signed receipt of your consents
privacy-preferences-heading = Communication preferences
privacy-channels = How we may contact you
privacy-channel-email = Email
privacy-channel-sms = Text message
privacy-channel-push = Push notification
privacy-channel-post = Post
privacy-topics = Topics
privacy-frequency = How often
privacy-frequency-immediately = As it happens
privacy-frequency-daily = Daily
privacy-frequency-weekly = Weekly
privacy-frequency-monthly = Monthly
privacy-frequency-never = Never
privacy-preferences-save = Save preferences
privacy-history-heading = History
privacy-history-empty = No decisions recorded yet.
privacy-history-when = When
privacy-history-purpose = Purpose
privacy-history-state = Decision
privacy-history-version = Version
privacy-history-channel = Where
privacy-done-granted = Your agreement was recorded.
privacy-done-withdrawn = Your agreement was withdrawn.
privacy-done-preferences = Your preferences were saved.
privacy-error-form = The form could not be read. Please try again.
privacy-error-expired = This form has expired. Please try again.
privacy-error-purpose = There is no such purpose, or it cannot be withdrawn here.
privacy-error-preferences = Choose only the channels, topics and frequency offered.
privacy-error-unavailable = This could not be done right now. Please try again in a moment.

retention-mail-warning-subject = Your { $product } account will be deleted on { $date }
retention-mail-warning-title = Your account will be deleted
retention-mail-warning-intro = You have not signed in to your { $product } account for a long time. Unless you sign in before { $date }, it will be deleted then, with the data in it.
retention-mail-warning-intro-html = You have not signed in to your <strong>{ $product }</strong> account for a long time. Unless you sign in before <strong>{ $date }</strong>, it will be deleted then, with the data in it.
retention-mail-warning-keep = To keep it, just sign in:
