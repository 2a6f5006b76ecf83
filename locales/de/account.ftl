# Tessera-Kontoportal ({issuer}/account): Deutsch (Anrede „Sie“).
#
# Die Seite, ihre Meldungen und die E-Mails, die sie verschickt. Jede Nachricht erhält $product.
# Nachrichten, deren Kennung auf -html endet, dürfen Markup enthalten; ihre Argumente werden
# maskiert.

## Die Seite

account-title = Ihr Konto
account-heading = Ihr Konto
account-email = E-Mail-Adresse
account-name = Name
account-signed-in-since = Angemeldet seit
account-sections = Bereiche des Kontos
account-nav-profile = Profil
account-nav-email = E-Mail-Adresse
account-nav-password = Passwort
account-nav-security = Anmeldemethoden und Bestätigung in zwei Schritten
account-nav-sessions = Sitzungen und Geräte
account-nav-apps = Verbundene Anwendungen
account-nav-data = Ihre Daten
account-nav-delete = Konto löschen
account-reauth-html = Um Ihre E-Mail-Adresse zu ändern, ein Passwort festzulegen, Ihre Daten herunterzuladen oder Ihr Konto zu löschen, müssen Sie sich kürzlich angemeldet haben: <a href="{ $link }" id="reauth-link">bestätigen Sie, dass Sie es sind</a>.
account-optional = (optional)
account-sign-out = Abmelden

account-profile-heading = Profil
account-profile-empty = Hier gibt es in Ihrem Profil nichts zu bearbeiten.
account-profile-save = Profil speichern
account-field-name = Vollständiger Name
account-field-given-name = Vorname
account-field-family-name = Nachname
account-field-phone = Telefonnummer

account-email-heading = E-Mail-Adresse
account-email-current-html = Ihre Adresse ist <strong>{ $email }</strong>.
account-email-verified = Sie ist bestätigt.
account-email-unverified = Sie ist noch nicht bestätigt.
account-new-email = Neue E-Mail-Adresse
account-new-email-hint = Wir senden einen Link an die neue Adresse. Ihre Adresse ändert sich, sobald Sie ihn öffnen; bis dahin melden Sie sich weiter mit { $email } an.
account-change-email = E-Mail-Adresse ändern
account-email-reauth-html = Um sie zu ändern, <a href="{ $link }">bestätigen Sie zuerst, dass Sie es sind</a>.

account-password-heading = Passwort
account-current-password = Aktuelles Passwort
account-passwordless = Ihr Konto hat kein Passwort: Sie melden sich mit Codes, Links oder einem Passkey an. Sie können ein Passwort hinzufügen.
account-new-password = Neues Passwort
account-new-password-hint = Mindestens { $min } Zeichen. Einige zusammenhanglose Wörter ergeben ein starkes Passwort. Wenn Sie es ändern, enden Ihre anderen Sitzungen.
account-change-password = Passwort ändern
account-set-password = Passwort festlegen
account-password-reauth-html = Ihr Konto hat kein Passwort. Um eines hinzuzufügen, <a href="{ $link }">bestätigen Sie zuerst, dass Sie es sind</a>.

account-sessions-heading = Sitzungen und Geräte
account-this-device = dieses Gerät
account-session-ip = IP-Adresse { $ip }
account-session-times-html = angemeldet <time datetime="{ $created }">{ $created }</time> · zuletzt aktiv <time datetime="{ $seen }">{ $seen }</time>
account-session-revoke = Diese Sitzung abmelden
account-session-revoke-label = { $device } abmelden, angemeldet { $created }
account-revoke-others = Alle anderen Sitzungen abmelden
account-device-unknown = Unbekanntes Gerät
account-device-browser-on-os = { $browser } unter { $os }
account-device-browser = { $browser }
account-device-os = Ein Browser unter { $os }

account-apps-heading = Verbundene Anwendungen
account-app-access-html = <strong>{ $app }</strong> darf verwenden: { $scopes } (seit <time datetime="{ $since }">{ $since }</time>)
account-app-remove = Zugriff entziehen
account-app-remove-label = { $app } den Zugriff entziehen
account-no-apps = Keine Anwendung hat Zugriff auf Ihr Konto.

account-data-heading = Ihre Daten
account-data-intro = Laden Sie alles herunter, was wir über Sie speichern (Profil, Sitzungen, Anmeldemethoden, Anwendungen, Aktivitäten), als JSON-Datei.
account-data-download = Meine Daten herunterladen
account-data-reauth-note = (Sie werden gebeten zu bestätigen, dass Sie es sind)

account-delete-heading = Konto löschen
account-delete-grace = Ihr Konto wird sofort geschlossen (Sie werden überall abgemeldet) und nach { $days ->
    [one] einem Tag
   *[other] { $days } Tagen
  } gelöscht. Bis dahin kann der Support von { $product } es wiederherstellen.
account-delete-now = Ihr Konto und alles darin werden sofort gelöscht. Das lässt sich nicht rückgängig machen.
account-delete-confirm-label = Geben Sie zur Bestätigung Ihre E-Mail-Adresse ein
account-delete-button = Mein Konto löschen
account-delete-reauth-html = Um Ihr Konto zu löschen, <a href="{ $link }">bestätigen Sie zuerst, dass Sie es sind</a>.

## Was ein Formular danach meldet

account-done-profile = Ihr Profil wurde gespeichert.
account-done-email = Wir haben einen Link an Ihre neue Adresse gesendet. Ihre Adresse ändert sich, sobald Sie ihn öffnen; bis dahin melden Sie sich weiter mit dieser an.
account-done-password = Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden abgemeldet.
account-done-password-set = Ihr Passwort wurde festgelegt. Ihre anderen Sitzungen wurden abgemeldet.
account-done-session = Die Sitzung wurde abgemeldet.
account-done-sessions = Alle Ihre anderen Sitzungen wurden abgemeldet.
account-done-app = Die Anwendung hat keinen Zugriff mehr auf Ihr Konto.

account-error-form = Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es erneut.
account-error-expired = Dieses Formular ist abgelaufen. Bitte versuchen Sie es erneut.
account-error-attention = Einige Angaben müssen Sie noch prüfen.
account-error-reauth = Bestätigen Sie zu Ihrer Sicherheit zuerst, dass Sie es sind (melden Sie sich erneut an).
account-error-throttled = Zu viele Versuche. Versuchen Sie es in { $minutes ->
    [one] einer Minute
   *[other] { $minutes } Minuten
  } erneut.
account-error-busy = Der Dienst ist gerade sehr ausgelastet. Bitte versuchen Sie es in einigen Sekunden erneut.
account-error-unavailable = Das ist vorübergehend nicht möglich. Bitte versuchen Sie es erneut.
account-error-choose-app = Wählen Sie eine Anwendung aus, der Sie den Zugriff entziehen möchten.
account-error-no-app = Diese Anwendung hat keinen Zugriff, der entzogen werden könnte.
account-error-choose-session = Wählen Sie eine Sitzung aus, die abgemeldet werden soll.
account-error-current-session = Das ist die Sitzung, die Sie gerade verwenden: Um sie zu beenden, melden Sie sich ab.
account-error-session-ended = Diese Sitzung ist bereits beendet.
account-error-not-deleted = Ihr Konto wurde nicht gelöscht.
account-error-export = Ihre Daten konnten gerade nicht zusammengestellt werden. Bitte versuchen Sie es erneut.
account-profile-incomplete = Das Formular ist unvollständig. Laden Sie die Seite neu und versuchen Sie es erneut.
account-profile-required = { $field } darf nicht leer sein.
account-profile-too-long = { $field } darf höchstens { $max } Zeichen lang sein.
account-profile-control = { $field } darf keine Zeilenumbrüche oder anderen Steuerzeichen enthalten.
account-profile-invalid = { $field } kann so nicht verwendet werden.
account-profile-phone = Geben Sie eine Telefonnummer aus Ziffern mit optionalem + am Anfang ein, z. B. +493012345678.
account-email-invalid = Geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com.
account-email-too-long = Geben Sie eine E-Mail-Adresse mit höchstens 254 Zeichen ein.
account-email-same = Das ist bereits Ihre E-Mail-Adresse.
account-email-domain = Adressen bei { $domain } können hier nicht verwendet werden. Verwenden Sie eine andere E-Mail-Adresse.
account-password-enter-current = Geben Sie Ihr aktuelles Passwort ein.
account-password-enter-new = Geben Sie ein neues Passwort ein.
account-password-wrong = Ihr aktuelles Passwort stimmt nicht.
account-delete-type-email = Geben Sie Ihre E-Mail-Adresse ein, um zu bestätigen, dass Sie Ihr Konto löschen möchten.
account-delete-wrong-email = Das ist nicht die E-Mail-Adresse Ihres Kontos. Geben Sie sie genau so ein, wie sie oben steht.

## Die Bestätigungsseite der neuen Adresse

account-email-confirm-title = Neue E-Mail-Adresse bestätigen
account-email-confirm-intro = Ihr Konto verwendet ab jetzt diese Adresse.
account-email-confirm-button = Diese E-Mail-Adresse verwenden
account-email-changed-heading = Ihre E-Mail-Adresse wurde geändert
account-email-changed-html = Melden Sie sich ab jetzt mit <strong id="changed-email">{ $email }</strong> an.
account-email-go-to-account = Zu Ihrem Konto
account-email-bad-link = Dieser Link ist abgelaufen, wurde bereits verwendet oder kann nicht mehr verwendet werden.
account-email-bad-link-help-html = Ihre E-Mail-Adresse wurde nicht geändert. Wenn Sie sie weiterhin ändern möchten, beginnen Sie erneut in <a href="{ $link }">Ihrem Konto</a>.

## Nach „Mein Konto löschen“

account-deleted-title = Ihr Konto wurde gelöscht
account-deleted-heading = Ihr Konto wurde gelöscht
account-deleted-text = Ihr Konto und die Daten darin sind gelöscht, und Sie sind überall abgemeldet. Wir haben Ihnen eine Bestätigung an Ihre E-Mail-Adresse gesendet.
account-closed-heading = Ihr Konto ist geschlossen
account-closed-html = Sie sind überall abgemeldet. Ihr Konto wird am <time datetime="{ $due_at }" id="due-date">{ $due_date }</time> gelöscht. Bis dahin kann der Support von { $product } es wiederherstellen; danach ist es endgültig gelöscht.

## E-Mails

account-mail-email-change-subject = Bestätigen Sie Ihre neue E-Mail-Adresse für { $product }
account-mail-email-change-title = Neue E-Mail-Adresse bestätigen
account-mail-email-change-intro = Sie möchten diese Adresse für Ihr Konto bei { $product } verwenden. Öffnen Sie diesen Link, um sie zu bestätigen (er funktioniert einmal und läuft in { $minutes } Minuten ab):
account-mail-email-change-intro-html = Sie möchten diese Adresse für Ihr Konto bei <strong>{ $product }</strong> verwenden. Bestätigen Sie sie mit der Schaltfläche unten.
account-mail-email-change-button = Diese E-Mail-Adresse verwenden
account-mail-email-change-outro = Bis dahin behält Ihr Konto seine bisherige Adresse. Wenn Sie das nicht angefordert haben, können Sie diese Nachricht ignorieren: Es ändert sich nichts.
account-mail-email-change-outro-html = Der Link funktioniert einmal und läuft in { $minutes } Minuten ab. Bis Sie bestätigen, behält Ihr Konto seine bisherige Adresse. Wenn Sie das nicht angefordert haben, können Sie diese Nachricht ignorieren: Es ändert sich nichts.

account-mail-notice-subject = Die E-Mail-Adresse Ihres Kontos bei { $product } wird geändert
account-mail-notice-title = Ihre E-Mail-Adresse wird geändert
account-mail-notice-intro = Am { $time } (UTC) hat jemand, der bei Ihrem Konto bei { $product } angemeldet ist, darum gebeten, es auf die Adresse { $email } umzustellen. Ein Bestätigungslink ging an diese Adresse; die Änderung geschieht erst, wenn er geöffnet wird (innerhalb von { $minutes } Minuten).
account-mail-notice-intro-html = Am { $time } (UTC) hat jemand, der bei Ihrem Konto bei <strong>{ $product }</strong> angemeldet ist, darum gebeten, es auf die Adresse <strong>{ $email }</strong> umzustellen. Ein Bestätigungslink ging an diese Adresse; die Änderung geschieht erst, wenn er geöffnet wird (innerhalb von { $minutes } Minuten).
account-mail-notice-not-you = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, ist möglicherweise jemand anderes bei Ihrem Konto angemeldet: Wählen Sie sofort ein neues Passwort (dadurch werden alle abgemeldet) und wenden Sie sich an den Support von { $product }:
account-mail-notice-not-you-html = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, ist möglicherweise jemand anderes bei Ihrem Konto angemeldet: Wählen Sie sofort ein neues Passwort (dadurch werden alle abgemeldet) und wenden Sie sich an den Support von { $product }.

account-mail-taken-subject = Zu dieser Adresse gibt es bereits ein Konto bei { $product }
account-mail-taken-title = Zu dieser Adresse gibt es bereits ein Konto
account-mail-taken-intro = Jemand, der bei einem Konto bei { $product } angemeldet ist, hat darum gebeten, dieses Konto auf diese E-Mail-Adresse umzustellen. Diese Adresse gehört bereits zu einem anderen Konto bei { $product }, daher wurde nichts geändert.
account-mail-taken-intro-html = Jemand, der bei einem Konto bei <strong>{ $product }</strong> angemeldet ist, hat darum gebeten, dieses Konto auf diese E-Mail-Adresse umzustellen. Diese Adresse gehört bereits zu einem anderen Konto bei { $product }, daher wurde nichts geändert.
account-mail-taken-yours = Wenn dieses andere Konto Ihnen gehört, melden Sie sich mit dieser Adresse an. Wenn Sie nicht mehr wissen wie, kommen Sie hier wieder hinein:
account-mail-taken-ignore = Wenn Sie das nicht angefordert haben, können Sie diese Nachricht ignorieren.

account-mail-password-subject = Ihr Passwort für { $product } wurde geändert
account-mail-password-title = Ihr Passwort wurde geändert
account-mail-password-intro = Das Passwort Ihres Kontos bei { $product } wurde am { $time } (UTC) in Ihren Kontoeinstellungen geändert. Ihre anderen Sitzungen wurden abgemeldet.
account-mail-password-intro-html = Das Passwort Ihres Kontos bei <strong>{ $product }</strong> wurde am { $time } (UTC) in Ihren Kontoeinstellungen geändert. Ihre anderen Sitzungen wurden abgemeldet.
account-mail-password-not-you = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, ist möglicherweise jemand anderes bei Ihrem Konto angemeldet: Wählen Sie hier ein neues Passwort, dadurch werden alle abgemeldet:
account-mail-password-not-you-html = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, ist möglicherweise jemand anderes bei Ihrem Konto angemeldet: Wählen Sie ein neues Passwort, dadurch werden alle abgemeldet.

account-mail-scheduled-subject = Ihr Konto bei { $product } wird am { $date } gelöscht
account-mail-scheduled-title = Ihr Konto wird gelöscht
account-mail-scheduled-intro = Am { $time } (UTC) haben Sie darum gebeten, Ihr Konto bei { $product } zu löschen. Es ist jetzt geschlossen: Sie wurden überall abgemeldet, und niemand kann sich damit anmelden. Am { $date } wird es mit allen Daten darin endgültig gelöscht.
account-mail-scheduled-intro-html = Am { $time } (UTC) haben Sie darum gebeten, Ihr Konto bei <strong>{ $product }</strong> zu löschen. Es ist jetzt geschlossen: Sie wurden überall abgemeldet, und niemand kann sich damit anmelden. Am <strong>{ $date }</strong> wird es mit allen Daten darin endgültig gelöscht.
account-mail-scheduled-restore = Wenn Sie es sich vorher anders überlegen, wenden Sie sich an den Support von { $product }: Er kann Ihr Konto wiederherstellen. Wenn Sie das nicht angefordert haben, wenden Sie sich sofort an ihn.

account-mail-deleted-subject = Ihr Konto bei { $product } wurde gelöscht
account-mail-deleted-title = Ihr Konto wurde gelöscht
account-mail-deleted-intro = Ihr Konto bei { $product } wurde am { $time } (UTC) wie gewünscht gelöscht, zusammen mit den Daten darin. Sie wurden überall abgemeldet, und die Anwendungen, die Sie damit verwendet haben, wurden benachrichtigt.
account-mail-deleted-intro-html = Ihr Konto bei <strong>{ $product }</strong> wurde am { $time } (UTC) wie gewünscht gelöscht, zusammen mit den Daten darin. Sie wurden überall abgemeldet, und die Anwendungen, die Sie damit verwendet haben, wurden benachrichtigt.
account-mail-deleted-last = Dies ist die letzte Nachricht zu diesem Konto. Wenn Sie das nicht angefordert haben, wenden Sie sich an den Support von { $product }.
