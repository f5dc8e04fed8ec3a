# Ligne de commande rdlic, en français. Format : sous-ensemble de Fluent (une ligne `clé = texte`, paramètres `{ $nom }`).
# Les chemins et noms de valeurs du Registre, les propriétés WMI, les commandes et les options restent tels que Windows les écrit.

## Erreurs, quelle que soit la commande
error-line = erreur : { $message }
cause-chain = { $context } : { $cause }
lang-unknown = langue inconnue { $lang } : utilisez en ou fr
read-file = impossible de lire { $path }
write-file = impossible d’écrire { $path }
create-dir = impossible de créer { $path }
file-error = { $path } : { $error }
io-not-found = fichier ou dossier introuvable
io-permission-denied = permission refusée (lancez la commande sous l’utilisateur propriétaire des fichiers)
io-already-exists = le fichier existe déjà
io-connection-refused = connexion refusée (rien n’écoute à cette adresse)
io-timed-out = le délai d’attente est dépassé
runtime-start = impossible de démarrer l’environnement d’exécution asynchrone
config-read = impossible de lire la configuration de l’hôte { $path } : { $error }
config-write = impossible d’écrire la configuration de l’hôte { $path } : { $error }
config-parse = { $path } n’est pas une configuration d’hôte valide : { $error } ; corrigez-la ou supprimez-la pour repartir des valeurs par défaut
config-bad-mode = LicensingMode { $mode } n’est pas pris en charge : utilisez 2 (par périphérique), 4 (par utilisateur) ou 5 (non configuré)
grace-read = impossible de lire l’enregistrement de la période de grâce { $path } : { $error }
grace-write = impossible d’écrire l’enregistrement de la période de grâce { $path } : { $error }
grace-parse = l’enregistrement de la période de grâce { $path } est endommagé ({ $error }) ; supprimez-le pour commencer une nouvelle période de grâce

## Réponses du serveur de licences aux commandes d’administration
client-bad-url = adresse de serveur incorrecte { $url } : attendu https://HÔTE[:PORT]
client-connect = impossible de joindre le serveur de licences à l’adresse { $url } : { $reason } ; vérifiez que `rdlic server run` est démarré et que l’adresse est correcte
client-timeout = le serveur de licences { $url } n’a pas répondu à temps : vérifiez qu’il fonctionne et que le réseau laisse passer son port
client-api = le serveur de licences a refusé la demande ({ $status } { $code }) : { $message }
client-decode = réponse inattendue du serveur de licences : { $detail } (cette adresse est-elle celle d’un serveur de licences rdlic ?)
admin-data-dir = impossible d’utiliser le dossier de données du serveur de licences { $dir } : démarrez-le avec `rdlic server run --data { $dir }` (sous l’utilisateur propriétaire du dossier)
api-hint-unauthorized = À faire : utilisez le jeton d’administration de ce serveur (DONNÉES/admin.token, lu grâce à --data DONNÉES).
api-hint-forbidden = À faire : cet hôte ou ce jeton n’est plus autorisé ; créez un nouveau jeton avec `rdlic host token` et inscrivez l’hôte à nouveau.
api-hint-token-refused = À faire : le jeton d’inscription est inconnu, déjà utilisé ou expiré ; créez-en un autre avec `rdlic host token` sur le serveur de licences.
api-hint-no-license = À faire : installez un pack de licences d’accès client (CAL) libres de ce type et de cette version (`rdlic keypack install`).
api-hint-revocation-refused = À faire : attendez la date indiquée ci-dessus, ou révoquez une licence d’accès client (CAL) d’une autre version.
api-hint-unknown-cal = À faire : vérifiez le numéro de série avec `rdlic license list`.
api-hint-unknown-host = À faire : vérifiez l’identifiant de l’hôte avec `rdlic host hosts`.
api-hint-duplicate-host = À faire : donnez un autre nom à cet hôte (`--name`) ou désinscrivez l’ancien (`rdlic host unenroll`).
api-hint-no-clearinghouse-key = À faire : redémarrez le serveur de licences avec `--clearinghouse-key clearinghouse.pub` (la clé publique du centre d’activation).
api-hint-bad-activation = À faire : donnez le fichier de certificat d’activation produit par `rdlic clearinghouse activate`, sans le modifier.
api-hint-forged-activation = À faire : ce certificat n’a pas été signé par la clé du centre d’activation approuvée, ou il a été modifié ; demandez-en un nouveau au centre d’activation.
api-hint-foreign-activation = À faire : ce certificat a été fait pour un autre serveur de licences ; envoyez au centre d’activation la demande de ce serveur (`rdlic activate --request FICHIER`).
api-hint-bad-pack = À faire : donnez le fichier de pack de licences produit par `rdlic clearinghouse keypack`, sans le modifier.
api-hint-forged-pack = À faire : ce pack de licences n’a pas été signé par la clé du centre d’activation approuvée, ou il a été modifié ; demandez-en un nouveau au centre d’activation.
api-hint-foreign-pack = À faire : ce pack de licences a été émis pour un autre serveur de licences ; demandez au centre d’activation un pack pour l’identifiant de ce serveur (`rdlic keypack list` l’affiche).
api-hint-expired-pack = À faire : ce pack de licences a expiré ; demandez-en un nouveau au centre d’activation.
api-hint-pack-conflict = À faire : un autre pack portant le même identifiant est déjà installé ; demandez un nouveau pack au centre d’activation.
api-hint-database-unavailable = À faire : rien n’a été enregistré ; vérifiez que la base de données fonctionne, puis réessayez.
api-hint-internal = À faire : consultez le journal du serveur de licences (la sortie de `rdlic server run`) et réessayez.

## Listes (rdlic keypack list, license list, host hosts)
col-id = identifiant
col-name = nom
col-revoked = révoqué
col-enrolled-at = inscrit_le
col-type = type
col-version = version
col-program = programme
col-total = total
col-issued = émises
col-available = disponibles
col-serial = numéro_de_série
col-kind = genre
col-status = état
col-client = client
col-user = utilisateur
col-expires-at = expire_le
col-url = url
col-alive = vivant
col-last-heartbeat = dernier_battement
col-stopped-at = arrêté_le

## rdlic up
up-no-exe = impossible de trouver l’exécutable rdlic
up-cannot-run = impossible de lancer rdlic
up-step-failed = « rdlic { $command } » a échoué : { $error }
up-path-not-utf8 = le chemin du dossier de démonstration { $path } n’est pas en UTF-8 : choisissez un autre --dir
up-server-start = impossible de démarrer le serveur de licences
up-server-exited = le serveur de licences s’est arrêté avant d’écouter : lancez `rdlic server run` à la main pour voir pourquoi
up-no-server-id = `rdlic activate --request` n’a affiché aucun identifiant de serveur
up-no-token = le serveur de licences n’a renvoyé aucun jeton d’inscription
up-enroll = impossible d’inscrire l’hôte de démonstration auprès du serveur de licences
up-banner-server = serveur de licences : { $url } (données { $dir })
up-banner-host = hôte de session :     { $addr } (dossier { $dir }), LicensingMode 2 par périphérique

## rdlic server run
server-not-started = le serveur de licences n’a pas démarré
server-listening = serveur de licences rdlic { $id } à l’écoute sur { $url }
server-files = jeton d’administration : { $dir }/admin.token ; autorité de certification TLS pour les hôtes : { $dir }/ca.crt
server-manager = Gestionnaire de licences des services Bureau à distance : { $url }/admin/
server-stopping = arrêt en cours
server-init-password-stdin = impossible de lire le mot de passe d’administration sur l’entrée standard
server-init-failed = impossible de préparer le dossier de données du serveur de licences { $dir }
server-init-done = serveur de licences { $id } prêt dans { $dir }
server-init-password-set = mot de passe d’administration défini : connectez-vous au Gestionnaire de licences (/admin/) avec lui ou avec le jeton ci-dessus

## rdlic host
host-config-read = lecture de la configuration de l’hôte
host-not-started = l’hôte de session n’a pas démarré
host-listening = hôte de session rdlic à l’écoute sur { $addr }
host-connect = pour se connecter : xfreerdp /v:{ $addr } /cert:ignore /u:alice /p:secret
host-local-server = le serveur de licences intégré (`local`) ne peut pas démarrer
enroll-done = inscrit comme hôte { $host } auprès du serveur de licences { $server }
enroll-files = certificat client et clé dans { $dir }
token-hint = jeton à usage unique ; sur l’hôte de session, exécutez : rdlic host enroll --server URL --token { $token } --dir DOSSIER
unenroll-done = inscription de l’hôte { $id } révoquée

## rdlic clearinghouse
ch-no-key = impossible de lire { $path } : exécutez d’abord `rdlic clearinghouse init --dir { $dir }`
ch-not-a-key = { $path } n’est pas une clé de centre d’activation
ch-key-exists = { $path } existe déjà : gardez-la (les serveurs lui font confiance) ou passez --force pour la remplacer
ch-keygen = impossible de générer une clé Ed25519
ch-init-key = clé du centre d’activation : { $path } (à garder secrète)
ch-init-public = clé publique pour les serveurs de licences : { $path }
ch-init-key-id = identifiant de la clé : { $id }
ch-not-a-request = { $path } n’est pas une demande d’activation (une clé publique PEM produite par `rdlic activate --request`)
ch-activated = certificat d’activation du serveur de licences { $id }
ch-bad-server-id = { $id } n’est pas un identifiant de serveur de licences (`rdlic activate --request` et `rdlic keypack list` l’affichent)
ch-bad-cal-type = --type { $value } : utilisez per-device (par périphérique) ou per-user (par utilisateur)
ch-bad-program = --program { $value } : utilisez retail, volume, open-license, enterprise-agreement, service-provider ou campus
ch-count-zero = --count doit valoir au moins 1
ch-keypack-issued = pack de licences { $id } : { $count } licences d’accès client (CAL) { $kind } version { $version } pour le serveur de licences { $server }

## rdlic activate, keypack, revoke
activate-server-id = identifiant du serveur de licences : { $id }
activate-request-written = demande d’activation écrite dans { $path } : envoyez-la au centre d’activation
activate-need-file = indiquez le fichier de certificat d’activation, ou --request FICHIER
activate-done = serveur de licences { $id } activé
keypack-installed = pack de licences { $id } installé
keypack-already-installed = le pack de licences { $id } était déjà installé : rien n’a été ajouté
revoke-done = licence d’accès client (CAL) { $serial } révoquée ; révocations encore possibles maintenant pour sa version : { $left }

## rdlic reg (messages de reg.exe)
operation-completed = L’opération a réussi.
reg-invalid-key = ERREUR : nom de clé non valide : { $key } (les paramètres de l’hôte sont sous HKLM)
reg-key-not-found = ERREUR : le système n’a pas trouvé la clé ou la valeur de Registre spécifiée : { $key }
reg-value-not-found = ERREUR : le système n’a pas trouvé la clé ou la valeur de Registre spécifiée.
reg-bad-dword = ERREUR : syntaxe incorrecte. /d { $data } n’est pas une valeur REG_DWORD
reg-bad-type = ERREUR : { $name } est de type { $expected } ; /t { $given } n’est pas accepté
reg-needs-value = ERREUR : syntaxe incorrecte. { $switch } attend une valeur
reg-unknown-switch = ERREUR : syntaxe incorrecte. Commutateur inconnu { $switch }
reg-dir-needs-value = --dir attend un dossier
reg-add-needs-value-name = ERREUR : syntaxe incorrecte. reg add attend /v NOM
reg-unknown-operation = ERREUR : syntaxe incorrecte. Opération inconnue { $operation } : utilisez query, add ou delete
reg-restart-note = remarque : l’hôte de session lit cette valeur à son prochain démarrage (redémarrez `rdlic host run`)

## rdlic feature (messages de dism)
feature-enabling = Activation de la ou des fonctionnalités
feature-disabling = Désactivation de la ou des fonctionnalités
feature-unknown = Erreur : 0x800f080c Le nom de fonctionnalité { $name } est inconnu : utilisez Remote-Desktop-Services ou Licensing
feature-usage = utilisation : rdlic feature disable|enable Remote-Desktop-Services|Licensing
feature-admin-mode = À son prochain démarrage, l’hôte accepte deux connexions d’administration simultanées et ne gère plus de licences.
feature-restart-note = remarque : redémarrez l’hôte de session (`rdlic host run`) pour que la modification prenne effet

## rdlic grace
grace-running = la période de grâce est en cours
grace-expired = la période de grâce est écoulée (événement RCM 1128)
grace-ended-by-cal = la période de grâce a pris fin avec la première licence permanente
grace-not-started = l’hôte n’a pas encore démarré : la période de grâce commencera à son premier démarrage
grace-note = ({ $note })

## rdlic diagnose
diagnose-failed = rdlic diagnose : { $error }
diagnose-fix-failed = rdlic diagnose --fix : { $error }

## clap : mise en page de l’aide et erreurs d’arguments
clap-usage-heading = Utilisation :
clap-commands-heading = Commandes
clap-command-value = COMMANDE
clap-default = [par défaut : { $value }]
clap-env = [variable d’environnement : { $name }]
clap-possible-values = [valeurs possibles : { $values }]
clap-help = Afficher l’aide
clap-help-short = Afficher l’aide (plus de détails avec « --help »)
clap-help-long = Afficher l’aide (un résumé avec « -h »)
clap-version = Afficher la version
clap-help-subcommand = Afficher ce message ou l’aide des sous-commandes indiquées
clap-help-subcommand-arg = Afficher l’aide des sous-commandes
clap-error-missing = les arguments obligatoires suivants n’ont pas été fournis : { $args }
clap-error-unknown-argument = argument inattendu { $arg }
clap-error-unknown-subcommand = sous-commande inconnue { $name }
clap-error-missing-subcommand = une sous-commande est nécessaire
clap-error-conflict = l’argument { $arg } ne peut pas être utilisé avec { $other }
clap-error-invalid-value = valeur { $value } non valide pour { $arg }
clap-error-invalid-value-among = valeur { $value } non valide pour { $arg } ; valeurs possibles : { $values }
clap-error-invalid-value-detail = valeur { $value } non valide pour { $arg } : { $detail }
clap-expected-integer = un nombre entier est attendu
clap-expected-number = un nombre est attendu
clap-expected-address = une adresse de la forme 127.0.0.1:8443 est attendue
clap-error-more = Pour en savoir plus, essayez « --help ».

# --- packaging (rdlic generate) ---
man-manual = Manuel de rdlic
man-heading-name = Nom
generate-write-failed = impossible d’écrire { $path }
# --- end packaging ---
# --- hostile networks ---
enroll-needs-ca = rdlic host enroll demande --ca FICHIER (une copie du DATA/ca.crt du serveur de licences), pour que l’hôte fasse confiance à ce serveur et à nul autre ; ou bien passez --insecure-first-use et comparez l’empreinte qu’il affiche avec celle qu’affiche `rdlic host token` sur le serveur de licences
enroll-fingerprint-failed = impossible de lire le certificat d’autorité envoyé par le serveur de licences
enroll-insecure-fingerprint = confiance au premier contact : l’autorité de certification du serveur de licences a l’empreinte SHA-256 { $fingerprint } ; comparez-la avec celle qu’affiche `rdlic host token` (ou `rdlic server run`) sur le serveur de licences et, si elles diffèrent, supprimez { $dir } et inscrivez l’hôte à nouveau avec --ca
token-ca-fingerprint = empreinte SHA-256 de l’autorité de certification du serveur de licences (celle que doit afficher `rdlic host enroll --insecure-first-use`) : { $fingerprint } ({ $path })
server-ca-fingerprint = empreinte SHA-256 de l’autorité de certification TLS : { $fingerprint }
clock-offset-refused = --clock-offset-days { $days } (ou RDLIC_CLOCK_OFFSET_DAYS) décale l’horloge de l’hôte, qui décide de la période de grâce : réservé aux tests et aux démonstrations ; définissez RDLIC_DEMO=1 pour l’utiliser sur un hôte de démonstration, ou laissez-le à 0
host-admin-password-stdin = impossible de lire le mot de passe sur l’entrée standard
host-admin-password-bad = impossible de définir le mot de passe d’administration : { $reason }
host-admin-password-set = compte d’administration { $user } défini dans { $path } ; redémarrez `rdlic host run` pour qu’il prenne effet. Une connexion `/admin` n’occupe un emplacement d’administration qu’avec cet utilisateur et ce mot de passe
# --- end hostile networks ---
# --- rdlic offline ---
offline-no-hives = aucune ruche du registre sous { $path } : donnez le volume Windows monté (avec Windows/System32/config) ou un dossier contenant le fichier de ruche SYSTEM
offline-read-failed = impossible de lire { $path }
offline-bad-hive = { $path } n’est pas une ruche du registre utilisable : { $error } ; rien n’a été écrit
offline-no-software = pas de ruche SOFTWARE dans { $dir } : le rôle, le rôle de licences et les valeurs de stratégie de groupe ne peuvent pas être lus
offline-dirty-replayed = { $path } a des modifications en attente dans ses journaux de transactions : diagnostiqué tel que le verra le prochain démarrage (journaux rejoués en mémoire ; `rdlic offline fix --replay-logs --apply` les écrit)
offline-dirty-no-logs = { $path } est « sale » (ses numéros de séquence diffèrent) mais ses journaux .LOG1/.LOG2 manquent ou sont illisibles : les valeurs peuvent être plus anciennes que ce que Windows a vu en dernier
offline-select-differs = SYSTEM\Select : Current est ControlSet{ $current } mais Default est ControlSet{ $default } ; les valeurs lues sont celles de Default, le jeu de contrôles du prochain démarrage (le dernier démarrage a utilisé la dernière bonne configuration connue ou un autre jeu)
offline-no-select = SYSTEM\Select manque : CurrentControlSet ne peut pas être résolu, les valeurs de SYSTEM ne peuvent donc pas être lues
offline-control-set = Jeu de contrôles lu : ControlSet{ $set } (SYSTEM\Select Default ; Current = { $current })
offline-after-boot = Après le prochain démarrage : vérifiez avec `reg query` (ou `rdlic diagnose --reg-file` sur un fichier `reg export`), puis reconnectez-vous ; le rôle lui-même ne peut être supprimé qu’en ligne ou avec dism depuis une machine de secours Windows.
offline-bad-mode = LicensingMode { $mode } n’est pas un mode de licence : utilisez 2 (par périphérique), 4 (par utilisateur) ou 5 (non configuré)
offline-bad-policy = { $name } n’est pas une valeur de stratégie que rdlic supprime ; choisissez parmi { $known }
offline-nothing-asked = rien à modifier : passez --licensing-mode, --license-server ou --clear-policy (voir `rdlic offline diagnose { $path }` pour ce qu’il faut corriger)
offline-dism = Le rôle ne peut pas être supprimé par des modifications du registre (le magasin de composants de Windows le détient) : depuis une machine de secours Windows où le disque est { $drive }, exécutez `dism /Image:{ $drive }\ /Disable-Feature /FeatureName:Remote-Desktop-Services`
offline-dirty-refused = { $path } a des modifications en attente dans ses journaux de transactions .LOG1/.LOG2 ; l’écrire maintenant les perdrait (comme le ferait hivex). Rien n’a été écrit. Relancez avec --replay-logs pour les rejouer d’abord (les anciens journaux sont mis de côté)
offline-replayed = { $path } : { $entries } entrées de journal rejouées
offline-no-control-set = { $key } est sous CurrentControlSet, et SYSTEM\Select ne dit pas de quel jeu de contrôles il s’agit ; rien n’a été écrit
offline-hive-missing = la ruche { $hive } n’est pas dans { $dir } ; rien n’a été écrit
offline-plan-line = { $hive }\{ $key } { $name } : { $before } -> { $after }
offline-dry-run = Rien n’a été écrit : relancez avec --apply pour faire ces modifications (chaque ruche modifiée est d’abord sauvegardée à côté).
offline-written = { $path } écrit (sauvegarde : { $backup })
offline-log-aside = journal de transactions { $path } rejoué et mis de côté sous { $aside }
# --- end rdlic offline ---
# --- cluster ---
bundle-passphrase-stdin = impossible de lire la phrase de passe du paquet sur l’entrée standard (ou définissez RDLIC_BUNDLE_PASSPHRASE)
bundle-export-failed = impossible d’exporter le paquet de grappe de { $dir }
bundle-exported = paquet de grappe écrit dans { $path } (0600) : copiez-le sur le nouveau serveur en gardant sa phrase de passe à part, puis lancez-y `rdlic server join`
bundle-join-needs-postgres = une grappe partage une base PostgreSQL : donnez --database postgres://UTILISATEUR@HÔTE/BASE
bundle-join-failed = impossible de déballer le paquet de grappe dans { $dir }
bundle-joined = ce serveur sert le serveur de licences { $id } depuis { $dir } : démarrez-le avec `rdlic server run --data DIR --database URL --listen ADRESSE --url URL`
server-forgotten = le serveur de licences { $id } ({ $url }) est retiré de la liste de la grappe ; retirez-le aussi des SpecifiedLicenseServers des hôtes et du nom DNS s’il y figurait
# --- end cluster ---

# --- cluster bench ---
bench-failover-needs-database = --servers demande un serveur PostgreSQL : donnez --database postgres://UTILISATEUR@HÔTE:PORT/BASE (une nouvelle base y est créée)
# --- end cluster bench ---
# --- Windows registry rules: reg export files, reg delete, Group Policy ---
diagnose-reg-file-invalid = rdlic diagnose --reg-file : { $file } : { $error }
diagnose-reg-file-no-fix = rdlic diagnose --reg-file : --fix ne s’applique pas à un fichier reg export ; lancez les commandes reg affichées sur la machine (ou rdlic offline fix sur son disque)
reg-policy-shadows = remarque : une stratégie de groupe règle { $policy_name } = { $policy } sous { $key } : elle l’emporte, donc ce { $name } reste sans effet tant que la valeur de stratégie existe (rdlic reg delete "{ $key }" /v { $policy_name } /f)
reg-delete-needs-value-name = ERREUR : syntaxe incorrecte. reg delete demande /v NOM (seule la clé de stratégie peut être supprimée entière)
reg-delete-install-state = ERREUR : InstallState ne peut pas être supprimé : utilisez rdlic feature enable|disable
# --- end Windows registry rules ---
