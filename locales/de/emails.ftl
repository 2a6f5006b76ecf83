# Tessera-E-Mails: Deutsch. Betreffzeilen sind einzeilig. $product ist der Produktname des
# Mandanten (oder sein Name). Nachrichten mit -html am Ende stehen nur im HTML-Teil.

## Gemeinsam

email-footer = Diese Nachricht wurde von { $product } gesendet. Wenn Sie sie nicht erwartet haben, können Sie sie ignorieren.
email-or-open-link = Oder öffnen Sie diesen Link:
email-link-label = Link:
email-or-enter-code = Oder geben Sie diesen Code auf der Bestätigungsseite ein:
email-choose-new-password = Neues Passwort wählen
email-confirm-address = Meine Adresse bestätigen
email-get-back-in = Wieder in mein Konto

## Anmeldecodes und -links

email-code-subject = { $code } ist Ihr Anmeldecode für { $product }
email-code-title = Ihr Anmeldecode für { $product }
email-code-intro = Ihr Anmeldecode für { $product } lautet:
email-code-intro-html = Ihr Anmeldecode für <strong>{ $product }</strong> lautet:
email-code-expiry = Er läuft in { $minutes } Minuten ab. Wenn Sie nicht versucht haben, sich anzumelden, kennt möglicherweise jemand Ihr Passwort: Ändern Sie es.
sign-in-or-link = Oder öffnen Sie diesen Link im selben Browser, um sich anzumelden:
sign-in-or-link-html = Oder <a href="{ $link }">öffnen Sie diesen Link im selben Browser</a>, um sich anzumelden.
sign-in-expiry-code = Der Code funktioniert einmal und läuft in { $minutes } Minuten ab.
sign-in-expiry-code-and-link = Code und Link funktionieren einmal und laufen in { $minutes } Minuten ab.
sign-in-not-you = Wenn Sie nicht versucht haben, sich anzumelden, können Sie diese Nachricht ignorieren.
sign-in-not-you-second-factor = Wenn Sie nicht versucht haben, sich anzumelden, können Sie diese Nachricht ignorieren – aber möglicherweise kennt jemand Ihr Passwort: Ändern Sie es.
magic-link-subject = Bei { $product } anmelden
magic-link-intro = Öffnen Sie diesen Link, um sich bei { $product } anzumelden:
magic-link-intro-html = Wählen Sie die Schaltfläche, um sich bei <strong>{ $product }</strong> anzumelden.
magic-link-expiry = Der Link funktioniert einmal und läuft in { $minutes } Minuten ab. Wenn Sie keine Anmeldung angefordert haben, können Sie diese Nachricht ignorieren.

## E-Mail-Bestätigung

verify-email-subject = Bestätigen Sie Ihre E-Mail-Adresse für { $product }
verify-email-title = E-Mail-Adresse bestätigen
verify-email-intro = Öffnen Sie diesen Link, um zu bestätigen, dass diese Adresse zu Ihrem Konto bei { $product } gehört:
verify-email-intro-html = Bestätigen Sie, dass diese Adresse zu Ihrem Konto bei <strong>{ $product }</strong> gehört.
verify-email-expiry = Der Link läuft in { $minutes } Minuten ab. Wenn Sie kein Konto erstellt haben, können Sie diese Nachricht ignorieren.
verify-email-code-expiry = Link und Code funktionieren einmal und laufen in { $minutes } Minuten ab. Wenn Sie kein Konto erstellt haben, können Sie diese Nachricht ignorieren.

## Passwörter und Wiederherstellung

password-reset-subject = Setzen Sie Ihr Passwort für { $product } zurück
password-reset-title = Passwort zurücksetzen
password-reset-intro = Jemand (hoffentlich Sie) hat angefordert, das Passwort Ihres Kontos bei { $product } zurückzusetzen. Öffnen Sie diesen Link, um ein neues zu wählen:
password-reset-intro-html = Jemand (hoffentlich Sie) hat angefordert, das Passwort Ihres Kontos bei <strong>{ $product }</strong> zurückzusetzen.
password-reset-expiry = Der Link funktioniert einmal und läuft in { $minutes } Minuten ab. Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.
password-changed-subject = Ihr Passwort für { $product } wurde geändert
password-changed-title = Ihr Passwort wurde geändert
password-changed-intro = Das Passwort Ihres Kontos bei { $product } wurde am { $time } (UTC) geändert, und Sie wurden überall abgemeldet.
password-changed-intro-html = Das Passwort Ihres Kontos bei <strong>{ $product }</strong> wurde am { $time } (UTC) geändert, und Sie wurden überall abgemeldet.
password-changed-not-you = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, hat möglicherweise jemand Zugriff auf Ihre E-Mails: Sichern Sie Ihr Postfach und wählen Sie dann hier ein neues Passwort:
password-changed-not-you-html = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, hat möglicherweise jemand Zugriff auf Ihre E-Mails: Sichern Sie Ihr Postfach und wählen Sie dann ein neues Passwort.
recovery-passwordless-subject = Wieder in Ihr Konto bei { $product }
recovery-passwordless-title = Wieder in Ihr Konto
recovery-passwordless-intro = Jemand (hoffentlich Sie) möchte wieder in das Konto bei { $product } mit dieser Adresse. Ihr Konto hat kein Passwort: Sie melden sich mit einem Code oder Link an, der an diese Adresse gesendet wird.
recovery-passwordless-intro-html = Jemand (hoffentlich Sie) möchte wieder in das Konto bei <strong>{ $product }</strong> mit dieser Adresse. Ihr Konto hat kein Passwort: Sie melden sich mit einem Code oder Link an, der an diese Adresse gesendet wird.
recovery-passwordless-open-link = Öffnen Sie diesen Link, um die Adresse zu bestätigen, und melden Sie sich dann wie gewohnt an:
recovery-passwordless-expiry = Link und Code funktionieren einmal und laufen in { $minutes } Minuten ab. Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht.

## Registrierung

registration-exists-subject = Jemand wollte mit Ihrer Adresse ein Konto bei { $product } erstellen
registration-exists-title = Sie haben bereits ein Konto
registration-exists-intro = Jemand (vielleicht Sie) wollte gerade mit dieser E-Mail-Adresse ein Konto bei { $product } erstellen. Sie haben bereits ein Konto, daher wurde nichts geändert.
registration-exists-intro-html = Jemand (vielleicht Sie) wollte gerade mit dieser E-Mail-Adresse ein Konto bei <strong>{ $product }</strong> erstellen. Sie haben bereits ein Konto, daher wurde nichts geändert.
registration-exists-sign-in = Wenn Sie es waren, melden Sie sich mit Ihrem bestehenden Konto an. Wenn Sie nicht mehr wissen wie, bringt Sie dieser Link wieder hinein (er funktioniert einmal und läuft in { $minutes } Minuten ab):
registration-exists-sign-in-html = Wenn Sie es waren, melden Sie sich mit Ihrem bestehenden Konto an. Wenn Sie nicht mehr wissen wie, bringt Sie dieser Link wieder hinein:
registration-exists-expiry = Der Link funktioniert einmal und läuft in { $minutes } Minuten ab. Wenn Sie es nicht waren, können Sie diese Nachricht ignorieren: Ihr Konto ist unverändert.
registration-exists-not-you = Wenn Sie es nicht waren, können Sie diese Nachricht ignorieren: Ihr Konto ist unverändert.

## Betrieb

test-subject = Testnachricht von { $product }
test-intro = Dies ist eine Testnachricht von { $product }.
test-intro-html = Dies ist eine Testnachricht von <strong>{ $product }</strong>.
test-body = Eine Administratorin oder ein Administrator hat Tessera gebeten, sie am { $time } zu senden, um den E-Mail-Versand zu prüfen. Es ist nichts weiter zu tun.

## New sign-in notice (risk engine)
new-sign-in-subject = Neue Anmeldung bei Ihrem Konto bei { $product }
new-sign-in-intro = Ihr Konto bei { $product } wurde soeben von einem Gerät oder Ort aus angemeldet, von dem aus es bisher nicht benutzt wurde.
new-sign-in-when = Wann: { $when }
new-sign-in-where = Wo (ungefähr): { $place }
new-sign-in-browser = Browser: { $browser }
new-sign-in-if-you = Wenn Sie das waren, ist nichts zu tun.
new-sign-in-not-you = Wenn nicht, öffnen Sie diesen Link: Alle Sitzungen Ihres Kontos werden beendet, Ihr Passwort funktioniert nicht mehr, und Sie erhalten einen Link, um ein neues zu wählen.
new-sign-in-button = Das war ich nicht
