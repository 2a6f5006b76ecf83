# Tessera-Seiten: Deutsch (Anrede „Sie“).
#
# Jede Nachricht erhält $product (Produktname des Mandanten oder sein Name). Nachrichten, deren
# Kennung auf -html endet, dürfen Markup enthalten; ihre Argumente werden maskiert.

## Gemeinsam

support-link = Brauchen Sie Hilfe?
back-to-sign-in = Zurück zur Anmeldung
start-over = Neu beginnen
field-email = E-Mail-Adresse
field-password = Passwort
field-new-password = Neues Passwort
field-code-6 = 6-stelliger Code
field-code-from-email = Code aus der E-Mail
field-name-optional = Name (optional)
field-optional-suffix = (optional)
field-required-suffix = (erforderlich)
button-confirm = Bestätigen
button-verify = Prüfen
button-sign-in = Anmelden
button-continue = Weiter
password-optional-hint = Oder lassen Sie es leer und melden Sie sich mit einem Code an, den wir Ihnen per E-Mail senden.
password-hint = Mindestens { $min } Zeichen. Einige zusammenhanglose Wörter ergeben ein starkes Passwort.
link-broken-heading = Dieser Link funktioniert nicht
error-try-again = Erneut versuchen
totp-qr-label = QR-Code des Schlüssels für die Authenticator-App
totp-open-app = In einer Authenticator-App auf diesem Gerät öffnen
totp-name-placeholder = z. B. Telefon

## Anmeldung

login-title = Anmelden
login-submit = Anmelden
login-passkey = Mit einem Passkey anmelden
login-email-code-instead = Stattdessen einen Anmeldecode per E-Mail senden
login-email-link-instead = Stattdessen einen Anmeldelink per E-Mail senden
login-forgot-password = Passwort vergessen?
login-register = Konto erstellen

## Abmeldung

logout-title = Abmelden
logout-heading = Abmelden?
logout-submit = Abmelden
logout-done-heading = Sie sind abgemeldet
logout-sign-in-again = Erneut anmelden

## Zustimmung und Geräte

consent-title = Zugriff erlauben
consent-heading = { $client } erlauben?
consent-asks-html = <strong>{ $client }</strong> möchte:
consent-allow = Erlauben
consent-deny = Ablehnen
device-title = Gerät verbinden
device-confirm-heading = { $client } verbinden?
device-code-html = Code <strong id="user-code">{ $code }</strong>. Fahren Sie nur fort, wenn dieser Code auf Ihrem Gerät angezeigt wird.
device-code-label = Auf Ihrem Gerät angezeigter Code
device-continue = Weiter

## Registrierung

register-title = Konto erstellen
register-choose = Bitte wählen …
register-accept-terms-html = Ich akzeptiere die <a href="{ $url }" rel="noopener noreferrer" target="_blank">Nutzungsbedingungen</a> (Version { $version })
register-honeypot = Dieses Feld leer lassen (es erkennt automatisierte Registrierungen)
register-submit = Konto erstellen
register-have-account = Sie haben bereits ein Konto?
check-email-title = Prüfen Sie Ihre E-Mails
check-email-recovery-html = Falls ein Konto die Adresse <strong>{ $email }</strong> verwendet, haben wir ihm einen Link gesendet, mit dem Sie wieder hineinkommen. Der Link funktioniert einmal und läuft bald ab.
check-email-recovery-spam = Nach ein paar Minuten noch keine Nachricht? Sehen Sie im Spam-Ordner nach, oder prüfen Sie, ob Sie die Adresse eingegeben haben, mit der Sie sich registriert haben.
check-email-register-html = Wir haben eine Nachricht an <strong>{ $email }</strong> gesendet. Öffnen Sie den Link darin, um Ihre Adresse zu bestätigen, oder geben Sie hier den 6-stelligen Code aus der Nachricht ein.

## E-Mail-Bestätigung

verify-title = E-Mail-Adresse bestätigen
verify-done-heading = Ihre E-Mail-Adresse ist bestätigt
verify-done-message-html = Vielen Dank. <strong>{ $email }</strong> ist bestätigt.
verify-confirm-button = Meine E-Mail-Adresse bestätigen
verify-bad-link-html = Wenn Sie Ihre Adresse noch bestätigen müssen, geben Sie unten den Code aus der neuesten Nachricht ein, oder <a href="{ $link }">fordern Sie einen neuen Link an</a>.
verify-enter-code = Code eingeben

## Passwort vergessen

forgot-title = Passwort vergessen?
forgot-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen können.
forgot-submit = Link senden
reset-title = Neues Passwort wählen
reset-done-heading = Ihr Passwort wurde geändert
reset-done-message = Sie wurden überall abgemeldet. Melden Sie sich mit Ihrem neuen Passwort an.
reset-request-new = Neuen Link anfordern
reset-submit = Neues Passwort festlegen

## Anmeldung per E-Mail

email-signin-title = Mit E-Mail anmelden
email-signin-sent-code-and-link = Falls für { $email } ein Konto besteht, haben wir ihm einen Anmeldecode und einen Link gesendet. Sie laufen in { $minutes } Minuten ab. Öffnen Sie den Link in diesem Browser.
email-signin-sent-code = Falls für { $email } ein Konto besteht, haben wir ihm einen Anmeldecode gesendet. Er läuft in { $minutes } Minuten ab.
email-signin-sent-link = Falls für { $email } ein Konto besteht, haben wir ihm einen Anmeldelink gesendet. Er läuft in { $minutes } Minuten ab. Öffnen Sie den Link in diesem Browser.
email-signin-send-code = Code per E-Mail senden
email-signin-send-link = Link per E-Mail senden
email-signin-other-way = Auf andere Weise anmelden
email-link-intro = Fahren Sie fort, um sich mit dem Link aus Ihrer E-Mail anzumelden.

## Zweiter Faktor

mfa-title = Bestätigen Sie, dass Sie es sind
mfa-intro = Ihr Konto ist mit einem zweiten Faktor geschützt.
mfa-step-up-intro = Diese Anwendung verlangt einen zweiten Faktor.
mfa-webauthn-heading = Sicherheitsschlüssel oder Passkey
mfa-webauthn-use = Sicherheitsschlüssel oder Passkey verwenden
mfa-remember = { $days ->
    [one] Auf diesem Gerät { $days } Tag lang nicht mehr fragen
   *[other] Auf diesem Gerät { $days } Tage lang nicht mehr fragen
}
mfa-totp-heading = Authenticator-App
mfa-totp-code = 6-stelliger Code aus Ihrer App
mfa-email-heading = Code per E-Mail
mfa-email-resend = Neuen Code senden
mfa-email-send = Code per E-Mail senden
mfa-recovery-summary = Einen Wiederherstellungscode verwenden
mfa-recovery-label = Wiederherstellungscode
mfa-recovery-submit = Wiederherstellungscode verwenden
mfa-none-webauthn-only = Diese Anwendung verlangt einen Sicherheitsschlüssel oder Passkey, und für Ihr Konto ist keiner registriert. Wenden Sie sich an Ihre Administration.
mfa-none = Für Ihr Konto steht keine Bestätigungsmethode zur Verfügung. Wenden Sie sich an Ihre Administration.
enroll-title = Zweiten Faktor einrichten
enroll-intro = Ihre Organisation verlangt für die Anmeldung einen zweiten Faktor. Richten Sie jetzt einen ein.
enroll-webauthn-placeholder = z. B. YubiKey
enroll-webauthn-add = Sicherheitsschlüssel oder Passkey hinzufügen
enroll-totp-scan = Scannen Sie diesen QR-Code mit einer Authenticator-App.
enroll-totp-type-key = Oder geben Sie diesen Schlüssel ein:
enroll-totp-enter-code = Geben Sie den 6-stelligen Code ein, den die App anzeigt.
codes-title = Ihre Wiederherstellungscodes
codes-heading = Speichern Sie Ihre Wiederherstellungscodes
codes-intro = Wenn Sie Ihren zweiten Faktor verlieren, können Sie sich mit jedem dieser Codes einmal anmelden. Bewahren Sie sie sicher auf: Sie werden nur jetzt angezeigt.
codes-continue = Ich habe sie gespeichert, weiter

## Anmeldemethoden (Kontosicherheit)

security-title = Sicherheit
security-heading = Anmeldemethoden
security-back = Zurück zu Ihrem Konto
security-new-codes-heading = Ihre neuen Wiederherstellungscodes
security-new-codes-intro = Mit jedem Code können Sie sich einmal anmelden, wenn Sie Ihren zweiten Faktor verlieren. Speichern Sie sie jetzt: Sie werden nur einmal angezeigt.
security-factors-heading = Ihre Faktoren
security-added = hinzugefügt
security-last-used = zuletzt verwendet
security-new-name = Neuer Name
security-rename = Umbenennen
security-remove = Entfernen
security-remove-label = { $name } entfernen
security-no-factors = Sie haben noch keinen zweiten Faktor.
security-recovery-left = Unbenutzte Wiederherstellungscodes: { $count }
security-reauth-html = Um Anmeldemethoden hinzuzufügen oder zu ändern, <a href="{ $link }" id="reauth-link">bestätigen Sie zuerst, dass Sie es sind</a>.
security-webauthn-heading = Passkey oder Sicherheitsschlüssel hinzufügen
security-webauthn-placeholder = z. B. Laptop
security-totp-heading = Authenticator-App hinzufügen
security-totp-intro-html = Scannen Sie den QR-Code mit einer Authenticator-App oder geben Sie den Schlüssel <code id="totp-secret">{ $secret }</code> ein, und geben Sie dann den angezeigten Code ein.
security-totp-submit = Authenticator-App hinzufügen
security-new-codes-button = Neue Wiederherstellungscodes erstellen

## Anmeldung über Identitätsanbieter (Föderation)

login-continue-with = Weiter mit { $provider }
federation-error-heading = Die Anmeldung hat nicht geklappt
federation-error-declined = Die Anmeldung wurde beim Anbieter abgebrochen. Sie können es erneut versuchen oder sich anders anmelden.
federation-error-rejected = Die Antwort des Anmeldeanbieters konnte nicht angenommen werden. Bitte beginnen Sie erneut.
federation-error-upstream = Der Anmeldeanbieter ist nicht erreichbar. Bitte versuchen Sie es gleich noch einmal oder melden Sie sich anders an.
federation-error-no-account = Für diese Identität gibt es hier kein Konto, und Konten werden nicht automatisch angelegt. Bitten Sie Ihre Administration um Zugang.
federation-error-no-email = Der Anmeldeanbieter hat keine E-Mail-Adresse übermittelt, die ein Konto hier braucht.
federation-error-disabled = Dieses Konto ist deaktiviert.
federation-error-expired = Diese Anmeldung ist abgelaufen oder wurde in einem anderen Browser begonnen. Bitte beginnen Sie erneut.
federation-error-linked-elsewhere = Diese Identität ist bereits mit einem anderen Konto verbunden.
federation-error-unknown-provider = Dieser Anmeldeanbieter ist nicht verfügbar.
federation-link-title = Bestehendes Konto verbinden
federation-link-intro = Es gibt bereits ein Konto für { $email }. Um sich künftig mit { $provider } daran anzumelden, bestätigen Sie zuerst, dass es Ihr Konto ist.
federation-link-sign-in = Beim bestehenden Konto anmelden
federation-verify-title = E-Mail-Adresse bestätigen
federation-verify-intro = { $provider } hat nicht bestätigt, dass { $email } Ihnen gehört. Wir senden einen Code an diese Adresse, um Ihr Konto anzulegen.
federation-code-sent = Wir haben einen Code an { $email } gesendet. Er läuft in { $minutes } Minuten ab.
federation-code-submit = Bestätigen
federation-code-resend = Neuen Code senden
federation-code-send = Code an { $email } senden
federation-link-cancel = Abbrechen und anders anmelden
federation-link-other-account = Sie haben sich bei einem anderen Konto angemeldet. Melden Sie sich beim oben genannten Konto an, um es zu verbinden.
federation-link-sign-in-first = Melden Sie sich zuerst beim bestehenden Konto an.
federation-identities-title = Anmeldeanbieter
federation-identities-intro = Mit diesen Anbietern können Sie sich bei Ihrem Konto anmelden.
federation-identities-linked = verbunden
federation-identities-last-used = zuletzt benutzt
federation-identities-remove = Trennen
federation-identities-remove-label = { $provider } trennen
federation-identities-none = Mit Ihrem Konto ist kein Anmeldeanbieter verbunden.
federation-identities-connect-heading = Anbieter verbinden
federation-identities-connect = { $provider } verbinden
federation-identity-last-method = Dies ist Ihre einzige Anmeldemöglichkeit: Legen Sie ein Passwort fest oder fügen Sie einen Passkey hinzu, bevor Sie sie trennen.
federation-identity-not-found = Diese Verbindung besteht nicht mehr.
federation-identity-removed = Der Anbieter wurde getrennt.
account-nav-identities = Anmeldeanbieter

## "This wasn't me" (new sign-in notice)
not-me-title = Sichern Sie Ihr Konto
not-me-explain = Sie haben eine Anmeldung gemeldet, die nicht von Ihnen stammt. Bestätigen Sie, um alle Sitzungen Ihres Kontos zu beenden und sein Passwort zu sperren; Sie erhalten per E-Mail einen Link, um ein neues zu wählen.
not-me-button = Alle abmelden und Passwort zurücksetzen
not-me-done-heading = Ihr Konto ist gesichert
not-me-done-message = Alle Sitzungen Ihres Kontos wurden beendet und sein Passwort funktioniert nicht mehr. Sie erhalten per E-Mail einen Link, um ein neues Passwort zu wählen.
not-me-bad-link = Dieser Link ist unbekannt, wurde bereits benutzt oder ist abgelaufen.
not-me-forgot-link = Passwort zurücksetzen
