# Tessera-Datenschutzseiten: die Einstellungen ({issuer}/account/privacy) und die Seite zur
# erneuten Zustimmung nach einer wesentlichen neuen Fassung ({issuer}/login/policy-update). Deutsch.

## Erneute Zustimmung bei der Anmeldung

reconsent-title = Geänderte Bedingungen
reconsent-heading = Wir haben unsere Bedingungen geändert
reconsent-intro = Bevor Sie fortfahren, lesen und akzeptieren Sie bitte die neue Fassung dieser Dokumente. Sie hatten einer früheren Fassung zugestimmt.
reconsent-document = { $kind }, Fassung { $version }
reconsent-previous = Sie hatten Fassung { $version } zugestimmt
reconsent-accept = Akzeptieren und fortfahren
reconsent-decline = Ablehnen
reconsent-choose = Bitte akzeptieren oder ablehnen.
reconsent-declined-heading = Sie sind nicht angemeldet
reconsent-declined-text = Sie haben die neue Fassung abgelehnt, daher wurde die Anmeldung nicht fortgesetzt. Ihr Konto bleibt unverändert; Sie können sich jederzeit erneut anmelden und dann zustimmen.
reconsent-back-to-login = Zurück zur Anmeldung
reconsent-expired-heading = Diese Anmeldung ist abgelaufen
reconsent-expired-text = Bitte melden Sie sich erneut an.

## Einstellungen

privacy-title = Datenschutz und Einstellungen
privacy-heading = Datenschutz und Einstellungen
privacy-back = Zurück zu Ihrem Konto
privacy-link = Datenschutz und Kommunikationseinstellungen
privacy-consents-heading = Wozu Sie zugestimmt haben
privacy-no-purposes = Hier gibt es nichts zuzustimmen.
privacy-state-granted = Sie haben zugestimmt.
privacy-state-withdrawn = Sie haben Ihre Zustimmung widerrufen.
privacy-state-expired = Ihre Zustimmung ist abgelaufen.
privacy-state-none = Sie haben noch nicht entschieden.
privacy-required = Für die Nutzung des Dienstes nötig; um sie zu beenden, löschen Sie Ihr Konto.
privacy-version = Fassung { $version }
privacy-grant = Zustimmen
privacy-withdraw = Widerrufen
privacy-basis-consent = auf Grundlage Ihrer Einwilligung
privacy-basis-contract = für unseren Vertrag nötig
privacy-basis-legitimate-interest = unser berechtigtes Interesse
privacy-basis-legal-obligation = eine rechtliche Verpflichtung
privacy-basis-vital-interest = lebenswichtige Interessen
privacy-basis-public-task = eine öffentliche Aufgabe
privacy-receipt = Eine signierte Bestätigung Ihrer Zustimmungen herunterladen
privacy-preferences-heading = Kommunikationseinstellungen
privacy-channels = Wie wir Sie kontaktieren dürfen
privacy-channel-email = E-Mail
privacy-channel-sms = SMS
privacy-channel-push = Push-Benachrichtigung
privacy-channel-post = Post
privacy-topics = Themen
privacy-frequency = Wie oft
privacy-frequency-immediately = Sofort
privacy-frequency-daily = Täglich
privacy-frequency-weekly = Wöchentlich
privacy-frequency-monthly = Monatlich
privacy-frequency-never = Nie
privacy-preferences-save = Einstellungen speichern
privacy-history-heading = Verlauf
privacy-history-empty = Noch keine Entscheidungen erfasst.
privacy-history-when = Wann
privacy-history-purpose = Zweck
privacy-history-state = Entscheidung
privacy-history-version = Fassung
privacy-history-channel = Wo
privacy-done-granted = Ihre Zustimmung wurde erfasst.
privacy-done-withdrawn = Ihre Zustimmung wurde widerrufen.
privacy-done-preferences = Ihre Einstellungen wurden gespeichert.
privacy-error-form = Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es erneut.
privacy-error-expired = Dieses Formular ist abgelaufen. Bitte versuchen Sie es erneut.
privacy-error-purpose = Diesen Zweck gibt es nicht, oder er kann hier nicht widerrufen werden.
privacy-error-preferences = Wählen Sie nur die angebotenen Kanäle, Themen und Häufigkeiten.
privacy-error-unavailable = Das ist gerade nicht möglich. Bitte versuchen Sie es gleich noch einmal.

retention-mail-warning-subject = Ihr Konto bei { $product } wird am { $date } gelöscht
retention-mail-warning-title = Ihr Konto wird gelöscht
retention-mail-warning-intro = Sie haben sich lange nicht bei Ihrem Konto bei { $product } angemeldet. Wenn Sie sich nicht vor dem { $date } anmelden, wird es dann mit allen Daten darin gelöscht.
retention-mail-warning-intro-html = Sie haben sich lange nicht bei Ihrem Konto bei <strong>{ $product }</strong> angemeldet. Wenn Sie sich nicht vor dem <strong>{ $date }</strong> anmelden, wird es dann mit allen Daten darin gelöscht.
retention-mail-warning-keep = Um es zu behalten, melden Sie sich einfach an:
