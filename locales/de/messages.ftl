# Tessera-Seiten: Meldungen des Servers (Fehler, Hinweise). Deutsch.

## Gemeinsam

msg-form-unreadable = Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es erneut.
msg-form-unreadable-short = Das Formular konnte nicht gelesen werden.
msg-form-expired = Dieses Formular ist abgelaufen. Bitte versuchen Sie es erneut.
msg-try-again = Bitte versuchen Sie es erneut.
msg-try-again-later = Bitte versuchen Sie es gleich noch einmal.
msg-busy = Der Dienst ist gerade stark ausgelastet. Bitte versuchen Sie es in ein paar Sekunden erneut.
msg-unavailable = Vorübergehend nicht verfügbar
msg-enter-valid-email = Geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@example.com.
msg-page-not-found = Seite nicht gefunden
msg-not-available = Nicht verfügbar
msg-policy-denied = Die Zugriffsrichtlinie Ihrer Organisation erlaubt diese Anmeldung nicht (zum Beispiel aus diesem Netzwerk oder zu dieser Zeit).

## Anmeldung

login-error-form-expired = Dieses Formular ist abgelaufen. Bitte melden Sie sich erneut an.
login-error-missing = Geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.
login-error-invalid = E-Mail-Adresse oder Passwort ist falsch.
login-error-unverified = Bestätigen Sie zuerst Ihre E-Mail-Adresse: Öffnen Sie den Link, den wir Ihnen gesendet haben, und melden Sie sich dann an. Keine E-Mail erhalten? Fordern Sie über „Passwort vergessen?“ einen neuen Link an.
login-error-throttled = Zu viele fehlgeschlagene Versuche. Versuchen Sie es in { $seconds } Sekunden erneut.
login-error-busy = Die Anmeldung ist gerade stark ausgelastet. Bitte versuchen Sie es in ein paar Sekunden erneut.
msg-pow-needed = Ihr Browser muss zuerst eine kurze Sicherheitsprüfung abschließen. Stellen Sie sicher, dass JavaScript aktiv ist, warten Sie einen Moment und senden Sie das Formular erneut.
login-error-refused = Diese Anmeldung wurde aus Sicherheitsgründen abgelehnt. Wenn das wiederholt passiert, wenden Sie sich an den Support.
login-error-unavailable = Die Anmeldung ist vorübergehend nicht verfügbar. Bitte versuchen Sie es erneut.

## Anmeldeschritte (zweiter Faktor, E-Mail)

flow-expired-heading = Diese Anmeldung ist abgelaufen
flow-expired-message = Die Anmeldung hat zu lange gedauert, wurde bereits abgeschlossen oder in einem anderen Browser begonnen. Bitte melden Sie sich erneut an.
flow-unverified-heading = Bestätigen Sie zuerst Ihre E-Mail-Adresse
flow-unverified-message = Öffnen Sie den Link, den wir an Ihre E-Mail-Adresse gesendet haben, um sie zu bestätigen, und melden Sie sich dann an. Wenn Sie ihn nicht finden, fordern Sie über „Passwort vergessen?“ einen neuen an.
flow-denied-heading = Anmeldung nicht erlaubt
flow-unavailable-heading = Die Anmeldung ist vorübergehend nicht verfügbar
mfa-msg-code-sent = Wir haben einen Code an Ihre E-Mail-Adresse gesendet.
mfa-msg-code-too-soon = Gerade eben wurde ein Code gesendet. Sie können in { $seconds } Sekunden einen weiteren anfordern.
mfa-msg-factor-throttled = Zu viele falsche Codes für dieses Konto. Versuchen Sie es in { $seconds } Sekunden erneut.
mfa-msg-choose = Wählen Sie eine der unten angebotenen Möglichkeiten.
mfa-msg-too-many-heading = Zu viele falsche Codes
mfa-msg-too-many = Zu Ihrer Sicherheit wurde diese Anmeldung abgebrochen. Bitte melden Sie sich erneut an.
mfa-msg-replayed = Dieser Code wurde bereits verwendet. Warten Sie auf den nächsten Code in Ihrer App.
mfa-msg-expired = Dieser Code ist abgelaufen. Fordern Sie einen neuen an.
mfa-msg-not-sent = Fordern Sie zuerst einen Code an.
mfa-msg-wrong = Dieser Code ist nicht richtig. Prüfen Sie ihn und versuchen Sie es erneut.
mfa-msg-wrong-totp = Dieser Code ist nicht richtig. Prüfen Sie die Uhrzeit Ihres Telefons und geben Sie den aktuellen Code ein.
mfa-msg-totp-not-offered = Authenticator-Apps werden hier nicht angeboten.
mfa-msg-form-expired-heading = Dieses Formular ist abgelaufen
mfa-msg-go-back = Bitte gehen Sie zurück und versuchen Sie es erneut.
email-msg-not-offered = Die Anmeldung per E-Mail wird hier nicht angeboten.
email-msg-too-many = Zu viele falsche Codes. Fordern Sie einen neuen Code an.
email-msg-enter-email = Geben Sie Ihre E-Mail-Adresse ein.
email-msg-too-many-requests = Für diese Adresse wurden zu viele Codes angefordert. Versuchen Sie es in { $seconds } Sekunden erneut.
link-msg-heading = Dieser Anmeldelink kann nicht verwendet werden
link-msg-form-expired = Dieses Formular ist abgelaufen. Öffnen Sie den Link aus Ihrer E-Mail erneut.
link-msg-not-offered = Anmeldelinks werden hier nicht angeboten.
link-msg-incomplete = Der Link ist unvollständig. Öffnen Sie ihn erneut aus Ihrer E-Mail.
link-msg-used = Der Link ist abgelaufen oder wurde bereits verwendet. Fordern Sie einen neuen an.
link-msg-used-short = Der Link ist abgelaufen oder wurde bereits verwendet.
link-msg-other-browser = Öffnen Sie den Link im selben Browser, in dem Sie ihn angefordert haben.

## Anmeldemethoden (Kontosicherheit)

security-kind-totp = Authenticator-App
security-kind-passkey = Passkey
security-kind-security-key = Sicherheitsschlüssel
security-msg-reauth = Bestätigen Sie zu Ihrer Sicherheit, dass Sie es sind (melden Sie sich erneut an), bevor Sie Ihre Anmeldemethoden ändern.
security-msg-totp-added = Authenticator-App hinzugefügt.
security-msg-name = Geben Sie einen Namen mit höchstens 64 Zeichen ein.
security-msg-renamed = Umbenannt.
security-msg-removed = Entfernt.
security-msg-gone = Diese Anmeldemethode gibt es nicht mehr.
security-msg-recovery-not-offered = Wiederherstellungscodes werden hier nicht angeboten.
security-msg-new-codes = Neue Wiederherstellungscodes erstellt; die alten gelten nicht mehr.
security-msg-unknown-action = Unbekannte Aktion.

## Registrierung

register-closed = Diese Organisation bietet keine Registrierung an. Bitten Sie ihre Administration um ein Konto.
register-msg-attention = Einige Angaben müssen Sie noch prüfen.
register-msg-throttled = Zu viele Registrierungsversuche aus Ihrem Netzwerk. Versuchen Sie es in { $minutes } Minuten erneut.
register-msg-busy = Die Registrierung ist gerade stark ausgelastet. Bitte versuchen Sie es in ein paar Sekunden erneut.
register-msg-unavailable = Die Registrierung ist vorübergehend nicht verfügbar. Bitte versuchen Sie es erneut.
register-field-name = Vollständiger Name
register-field-given-name = Vorname
register-field-family-name = Nachname
register-field-phone = Telefonnummer
register-field-birthdate = Geburtsdatum

## Passwort vergessen und E-Mail-Bestätigung

recovery-msg-throttled = Zu viele Anfragen aus Ihrem Netzwerk. Versuchen Sie es in { $minutes } Minuten erneut.
recovery-msg-check-form = Prüfen Sie das Formular und versuchen Sie es erneut.
recovery-msg-unavailable = Die Passwort-Wiederherstellung ist vorübergehend nicht verfügbar. Bitte versuchen Sie es erneut.
recovery-msg-bad-link = Dieser Link ist abgelaufen oder wurde bereits verwendet. Fordern Sie unten einen neuen an, falls Sie ihn noch brauchen.
recovery-msg-enter-password = Geben Sie ein neues Passwort ein.
verify-msg-bad-link = Dieser Link ist abgelaufen oder wurde bereits verwendet.
verify-msg-unavailable = Die Bestätigung ist vorübergehend nicht verfügbar. Bitte versuchen Sie es erneut.
verify-msg-missing = Geben Sie Ihre E-Mail-Adresse und den 6-stelligen Code aus der Nachricht ein.
verify-msg-throttled = Aus Ihrem Netzwerk wurden zu viele Codes ausprobiert. Versuchen Sie es in { $minutes } Minuten erneut.
verify-msg-wrong = Dieser Code ist nicht richtig oder abgelaufen. Prüfen Sie die neueste Nachricht von uns, oder fordern Sie eine neue an.

## Abmeldung

logout-msg-invalid = Ungültige Abmeldeanfrage
logout-msg-failed = Abmeldung fehlgeschlagen

## Anwendungen (Autorisierung, Zustimmung, Geräte)

authorize-expired-heading = Anmeldung abgelaufen
authorize-expired = Diese Anmeldeanfrage ist abgelaufen oder ungültig. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.
authorize-invalid-heading = Ungültige Anfrage
authorize-form-expired-heading = Formular abgelaufen
authorize-form-expired = Dieses Formular ist abgelaufen. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.
authorize-request-expired = Diese Anfrage ist abgelaufen. Kehren Sie zur Anwendung zurück und beginnen Sie erneut.
authorize-bad-request-heading = Ungültige Anmeldeanfrage
authorize-bad-request = Die Anwendung hat eine ungültige Anmeldeanfrage gesendet ({ $code }): { $description }
scope-openid = Sie mit Ihrem Konto anmelden
scope-profile = Ihren Namen und Ihre Profilangaben sehen
scope-email = Ihre E-Mail-Adresse sehen
scope-phone = Ihre Telefonnummer sehen
scope-address = Ihre Postanschrift sehen
scope-offline-access = Verbunden bleiben, während Sie nicht da sind
scope-other = Die Berechtigung „{ $scope }“ verwenden
device-msg-invalid = Dieser Code ist ungültig oder abgelaufen. Prüfen Sie den Code auf Ihrem Gerät.
device-msg-form-expired = Dieses Formular ist abgelaufen. Bitte geben Sie den Code erneut ein.
device-msg-connected = Gerät verbunden
device-msg-denied = Anfrage abgelehnt
device-msg-return = Sie können zu Ihrem Gerät zurückkehren.
device-msg-not-given = Das Gerät hat keinen Zugriff erhalten.
device-msg-used = Dieser Code wurde bereits verwendet.

## Prüfung von Formularfeldern (Prüfungen des Kerns, auf Seiten angezeigt)

reg-accept-terms = Akzeptieren Sie die Nutzungsbedingungen, um ein Konto zu erstellen.
reg-birthdate-format = Geben Sie Ihr Geburtsdatum als JJJJ-MM-TT ein (zum Beispiel 1990-04-23).
reg-too-young = Sie sind nicht alt genug, um hier ein Konto zu erstellen.
reg-domain-refused = Adressen bei { $domain } können hier nicht für eine Registrierung verwendet werden. Verwenden Sie eine andere E-Mail-Adresse.
reg-domain-disposable = Adressen bei { $domain } sind Wegwerfadressen und können nicht für eine Registrierung verwendet werden. Verwenden Sie eine dauerhafte E-Mail-Adresse.
reg-enter-name = Geben Sie Ihren Namen ein.
reg-enter-given-name = Geben Sie Ihren Vornamen ein.
reg-enter-family-name = Geben Sie Ihren Nachnamen ein.
reg-enter-phone = Geben Sie Ihre Telefonnummer ein.
reg-enter-birthdate = Geben Sie Ihr Geburtsdatum ein.
reg-attr-tick = Kreuzen Sie „{ $label }“ an, um fortzufahren.
reg-attr-fill = Füllen Sie „{ $label }“ aus.
reg-attr-number = „{ $label }“ muss eine Zahl sein.
reg-attr-date = „{ $label }“ muss ein Datum im Format JJJJ-MM-TT sein.
reg-attr-control = „{ $label }“ darf keine Steuerzeichen enthalten.
reg-attr-choose = Wählen Sie einen der angebotenen Werte für „{ $label }“.
reg-attr-format = „{ $label }“ hat nicht das erwartete Format.
reg-attr-too-long = „{ $label }“ darf höchstens { $max } Zeichen lang sein.
password-too-short = Dieses Passwort ist zu kurz: Verwenden Sie mindestens { $min } Zeichen.
password-too-long = Dieses Passwort ist zu lang: Verwenden Sie höchstens { $max } Zeichen.
password-common = Dieses Passwort steht auf einer Liste häufig verwendeter Passwörter. Wählen Sie ein anderes.
password-too-weak = Dieses Passwort ist zu leicht zu erraten.
