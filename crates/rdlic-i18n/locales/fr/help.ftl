# Textes d’aide de clap (about/help), en français. Clés : about-<chemin de la commande>, arg-<chemin>-<identifiant de
# l’argument>, ou arg-<identifiant> pour un argument commun à plusieurs commandes.

about-rdlic = Licences Bureau à distance : serveur de licences, hôte de session et diagnostics
arg-rdlic-log = Filtre des journaux (syntaxe EnvFilter de tracing), par exemple `info` ou `rdlic_host=debug`
arg-rdlic-lang = Langue des messages et de cette aide : en ou fr (par défaut : LC_ALL, LC_MESSAGES ou LANG)
about-rdlic-up = Démonstration : un serveur de licences et un hôte de session en boucle locale, avec la base intégrée
arg-rdlic-up-dir = Dossier de la démonstration (clearinghouse/, server/, host/)
arg-rdlic-up-rdp_listen = Adresse d’écoute RDP de l’hôte de session
arg-rdlic-up-api_listen = API HTTPS du serveur de licences
arg-rdlic-up-cals = Licences d’accès client (CAL) permanentes par périphérique du pack de démonstration
about-rdlic-server = Serveur de licences (run, init)
about-rdlic-server-run = Démarrer le serveur de licences (le premier démarrage prépare le dossier de données : clé d’identité, autorité de certification TLS, jeton d’administration)
arg-rdlic-server-run-data = Dossier de données (clés en 0600, autorité de certification TLS, jeton d’administration, base SQLite rdlic.db)
arg-rdlic-server-run-listen = Adresse d’écoute
arg-rdlic-server-run-database = Base de données : postgres://UTILISATEUR@HÔTE/BASE, sqlite://CHEMIN ou le chemin d’un fichier SQLite (par défaut : DATA/rdlic.db)
arg-rdlic-server-run-clearinghouse_key = Clé publique (PEM) du centre d’activation à approuver pour l’activation et les packs de licences ; conservée dans le dossier de données
arg-rdlic-server-run-sans = Nom DNS ou adresse IP supplémentaire du certificat TLS (répétable) : les noms par lesquels les hôtes joignent le serveur
arg-rdlic-server-run-max_body = Taille maximale d’un corps de requête, en octets
arg-rdlic-server-run-enforce_per_user = Refuser les licences d’accès client par utilisateur quand aucune n’est libre (Windows autorise la surallocation et la signale)
arg-rdlic-server-run-max_batch = Nombre maximal de demandes de licences par périphérique validées dans une même transaction (validation groupée ; 1 la désactive)
arg-rdlic-server-run-tls_handshake_timeout_secs = Secondes dont dispose un client pour terminer la négociation TLS
arg-rdlic-server-run-header_timeout_secs = Secondes dont dispose un client pour envoyer les en-têtes d’une requête, comptées depuis la négociation ou la réponse précédente (c’est aussi le délai d’inactivité des connexions persistantes)
arg-rdlic-server-run-request_timeout_secs = Secondes que peut durer une requête, envoi du corps compris (408 ensuite)
arg-rdlic-server-run-max_connections = Nombre maximal de connexions ouvertes ; une fois atteint, la plus ancienne connexion sans certificat d’hôte ni requête aboutie est fermée pour faire place
about-rdlic-server-init = Préparer le dossier de données et la base sans servir ; affiche le jeton d’administration ; définit au besoin le mot de passe d’administration de la page du Gestionnaire de licences (lu sur l’entrée standard)
arg-rdlic-server-init-data = Dossier de données (comme pour `rdlic server run`)
arg-rdlic-server-init-database = Base de données (comme pour `rdlic server run` ; par défaut : DATA/rdlic.db)
arg-rdlic-server-init-sans = Nom DNS ou adresse IP supplémentaire du certificat TLS (répétable)
arg-rdlic-server-init-admin_password_stdin = Lire le mot de passe d’administration (première ligne de l’entrée standard, au moins 8 octets) et en conserver une empreinte PBKDF2 salée
about-rdlic-host = Hôte de session (run, enroll)
about-rdlic-host-run = Démarrer l’hôte de session (écoute RDP avec gestion des licences)
arg-rdlic-host-run-dir = Dossier de données de l’hôte (host.toml, grace.toml, tls/, licensing/, fichiers d’inscription)
arg-rdlic-host-run-listen = Adresse d’écoute RDP
arg-rdlic-host-run-clock_offset_days = Avancer l’horloge de l’hôte de ce nombre de jours (tests, démonstrations)
arg-rdlic-host-run-local_permanent_cals = Licences permanentes du serveur de licences intégré `local`
arg-rdlic-host-run-report_interval_secs = Secondes entre deux rapports au serveur de licences (période de grâce, refus, constats du diagnostic ; aussi envoyés au démarrage et juste après un refus) ; 0 désactive les rapports
about-rdlic-host-enroll = Inscrire cet hôte auprès d’un serveur de licences (jeton à usage unique)
arg-rdlic-host-enroll-server = URL du serveur de licences, par exemple https://ls1.example:8443
arg-rdlic-host-enroll-token = Jeton à usage unique donné par `rdlic host token` sur le serveur de licences
arg-rdlic-host-enroll-dir = Dossier de client.crt, client.key (0600), server-ca.crt, enrollment.json
arg-rdlic-host-enroll-name = Nom de cet hôte (par défaut : le nom de la machine)
arg-rdlic-host-enroll-ca = L’autorité de certification TLS du serveur à approuver (une copie de son DATA/ca.crt)
arg-rdlic-host-enroll-insecure_first_use = Sans --ca : faire confiance au serveur qui répond et afficher l’empreinte SHA-256 de son autorité de certification, à comparer avec celle qu’affiche `rdlic host token` sur le serveur de licences
about-rdlic-host-token = Sur le serveur de licences : créer un jeton d’inscription à usage unique
arg-rdlic-host-token-ttl = Durée de validité, en secondes
about-rdlic-host-hosts = Sur le serveur de licences : lister les hôtes inscrits
about-rdlic-host-unenroll = Sur le serveur de licences : révoquer l’inscription d’un hôte
arg-rdlic-host-unenroll-id = Identifiant de l’hôte (donné par `rdlic host hosts`)
about-rdlic-host-admin-password = Définir le compte d’administration dont une connexion `/admin` doit présenter les identifiants pour occuper un emplacement d’administration (mot de passe lu sur l’entrée standard)
arg-rdlic-host-admin-password-dir = Dossier de données de l’hôte (host.toml est mis à jour)
arg-rdlic-host-admin-password-user = Nom d’utilisateur du compte d’administration, tel que le client RDP l’envoie (`user` ou `DOMAINE\user`)
about-rdlic-clearinghouse = Côté éditeur : clé du centre d’activation, certificats d’activation, packs de licences
about-rdlic-clearinghouse-init = Créer une nouvelle paire de clés du centre d’activation dans DIR
arg-rdlic-clearinghouse-init-force = Remplacer une clé existante (chaque serveur activé avec l’ancienne devra être activé à nouveau)
about-rdlic-clearinghouse-activate = Signer un certificat d’activation pour la demande d’activation d’un serveur de licences
arg-rdlic-clearinghouse-activate-request = La demande d’activation (produite par `rdlic activate --request FICHIER` sur le serveur de licences) : la clé publique d’identité du serveur, en PEM
arg-rdlic-clearinghouse-activate-out = Où écrire le certificat d’activation (par défaut : la sortie standard)
about-rdlic-clearinghouse-keypack = Émettre un pack signé de licences d’accès client (CAL) pour un identifiant de serveur de licences
arg-rdlic-clearinghouse-keypack-server_id = Identifiant du serveur de licences (`rdlic activate --request` et `rdlic keypack list` l’affichent)
arg-rdlic-clearinghouse-keypack-cal_type = per-device (par périphérique) ou per-user (par utilisateur)
arg-rdlic-clearinghouse-keypack-version = Version des licences d’accès client (2016, 2019, 2022, 2025)
arg-rdlic-clearinghouse-keypack-count = Nombre de licences d’accès client
arg-rdlic-clearinghouse-keypack-program = Programme de licence (retail, volume, open-license, enterprise-agreement, service-provider, campus)
arg-rdlic-clearinghouse-keypack-expires_days = Nombre de jours avant l’expiration du pack (par défaut : jamais)
arg-rdlic-clearinghouse-keypack-out = Où écrire le pack de licences (par défaut : la sortie standard)
about-rdlic-activate = Activer ce serveur de licences avec un certificat du centre d’activation
arg-rdlic-activate-certificate = Fichier du certificat d’activation reçu du centre d’activation
arg-rdlic-activate-request = Écrire plutôt la demande d’activation (à envoyer au centre d’activation) dans ce fichier
about-rdlic-keypack = Installer et lister les packs de licences d’accès client (CAL)
about-rdlic-keypack-install = Installer un fichier de pack de licences signé (installer deux fois le même pack n’ajoute rien)
arg-rdlic-keypack-install-file = Fichier du pack de licences reçu du centre d’activation
about-rdlic-keypack-list = Lister les packs de licences installés, avec les licences émises et disponibles
about-rdlic-license = Lister les licences émises
about-rdlic-license-list = Lister les licences d’accès client (CAL) par périphérique émises
about-rdlic-revoke = Révoquer une licence d’accès client (CAL) par périphérique
arg-rdlic-revoke-serial = Numéro de série de la licence (donné par `rdlic license list`)
about-rdlic-report = Rapports par utilisateur et par périphérique
arg-rdlic-report-kind = per-user (par utilisateur) ou per-device (par périphérique)
arg-rdlic-report-format = Format de sortie
arg-rdlic-report-json = Identique à --format json
about-rdlic-reg = Lire ou modifier les paramètres de licence de l’hôte avec la syntaxe de reg.exe
arg-rdlic-reg-dir = Dossier de données de l’hôte
arg-rdlic-reg-operation = `query`, `add` ou `delete`
arg-rdlic-reg-key = Chemin de la clé, par exemple "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core"
arg-rdlic-reg-switches = Commutateurs de reg.exe : /v NOM, /t TYPE, /d DONNÉES, /f
about-rdlic-feature = Activer ou désactiver le rôle Hôte de session Bureau à distance (syntaxe de dism)
arg-rdlic-feature-dir = Dossier de données de l’hôte
arg-rdlic-feature-words = `disable`/`enable` et le nom de la fonctionnalité (ou, comme dism, /Disable-feature /FeatureName:NOM)
about-rdlic-grace = Jours restants de la période de grâce (GetGracePeriodDays)
arg-rdlic-grace-dir = Dossier de données de l’hôte
arg-rdlic-grace-clock_offset_days = Évaluer avec l’horloge de l’hôte avancée de ce nombre de jours
about-rdlic-diagnose = Trouver pourquoi les connexions à cet hôte sont refusées, et afficher la correction
arg-rdlic-diagnose-dir = Dossier de données de l’hôte (host.toml, grace.toml, fichiers d’inscription)
arg-rdlic-diagnose-fix = Appliquer les corrections sûres (LicensingMode, SpecifiedLicenseServers) après avoir sauvegardé host.toml
arg-rdlic-diagnose-license_server = Serveur de licences à inscrire dans SpecifiedLicenseServers s’il est vide (utilisé par --fix)
arg-rdlic-diagnose-clock_offset_days = Décalage de l’horloge de l’hôte, en jours (comme `rdlic host run --clock-offset-days`)
arg-rdlic-diagnose-host_cal_version = Version de licence d’accès client dont cet hôte a besoin
arg-rdlic-diagnose-timeout = Secondes d’attente pour chaque étape auprès d’un serveur de licences
arg-rdlic-diagnose-color = Couleur : auto (quand la sortie est un terminal), always (toujours), never (jamais)
about-rdlic-probe = Montrer ce que fait un serveur RDP pendant sa phase de licences
arg-rdlic-probe-target = Serveur RDP, HÔTE:PORT (port 3389 s’il est omis)
arg-rdlic-probe-admin = Connexion d’administration (console), comme `mstsc /admin` : Client Cluster Data avec REDIRECTED_SESSIONID_FIELD_VALID et l’identifiant de session 0
arg-rdlic-probe-user = Nom d’utilisateur du Client Info PDU et de la demande de licence
arg-rdlic-probe-password = Mot de passe du Client Info PDU (un hôte n’accepte une connexion --admin que de son compte d’administration)
arg-rdlic-probe-client_hostname = Nom du client (données GCC du client, nom de machine de la demande de licence, graine de l’identifiant matériel)
arg-rdlic-probe-license_dir = Magasin de licences : une licence reçue y est enregistrée et présentée à la sonde suivante
arg-rdlic-probe-timeout = Secondes d’attente pour chaque PDU du serveur
arg-rdlic-probe-json = Afficher le rapport en JSON
about-rdlic-bench = Bancs d’essai (figures en anglais)
about-rdlic-generate = Empaquetage : pages de manuel et complétions du shell (aide en anglais)

## Arguments communs à plusieurs commandes (la clé propre à une commande l’emporte)
arg-data = Dossier de données du serveur de licences (admin.token, ca.crt et server.url y sont lus)
arg-dir = Dossier du centre d’activation
arg-json = Afficher en JSON
arg-server = URL du serveur (par défaut : celle que le serveur en cours d’exécution a écrite dans DATA/server.url)

# --- license server over DCE/RPC ---
arg-rdlic-probe-license_server = Serveur de licences RD Windows, HÔTE[:PORT] (port 135 s’il est omis) : mappeur de points de terminaison, ept_map pour l’interface de licences, liaison (bind) à celle-ci sur le port renvoyé (aucun appel de licence)
# --- end license server over DCE/RPC ---
# --- rdlic offline ---
about-rdlic-offline = Diagnostiquer et réparer le registre d’un disque Windows hors ligne (ses ruches SYSTEM et SOFTWARE)
about-rdlic-offline-diagnose = Diagnostiquer les licences d’un disque Windows hors ligne à partir de ses ruches du registre
arg-rdlic-offline-diagnose-path = Le volume Windows monté, ou un dossier contenant les fichiers de ruche SYSTEM et SOFTWARE
arg-rdlic-offline-diagnose-license_server = Serveur de licences à nommer dans les correctifs quand aucun n’est configuré
arg-rdlic-offline-diagnose-color = Couleur : auto (quand la sortie est un terminal), always, never
about-rdlic-offline-fix = Afficher, et avec --apply appliquer, les correctifs sûrs du registre d’un disque Windows hors ligne
arg-rdlic-offline-fix-path = Le volume Windows monté, ou un dossier contenant les fichiers de ruche SYSTEM et SOFTWARE
arg-rdlic-offline-fix-licensing_mode = Définir LicensingMode (2 par périphérique, 4 par utilisateur) sous RCM\Licensing Core
arg-rdlic-offline-fix-license_servers = Écrire SpecifiedLicenseServers sous TermService\Parameters\LicenseServers (répétable, dans l’ordre)
arg-rdlic-offline-fix-clear_policy = Supprimer une valeur de stratégie de groupe qui l’emporte sur les valeurs locales : LicensingMode, LicenseServers ou fDenyTSConnections (répétable)
arg-rdlic-offline-fix-replay_logs = Rejouer d’abord les journaux de transactions d’une ruche « sale » (les anciens journaux sont mis de côté)
arg-rdlic-offline-fix-apply = Faire les modifications (sans cette option, seulement les afficher)
# --- end rdlic offline ---
# --- cluster ---
about-rdlic-server-export = Sceller l’identité, l’autorité TLS, le jeton d’administration et la clé du centre d’activation de ce serveur dans un paquet pour un autre serveur de la grappe (phrase de passe dans RDLIC_BUNDLE_PASSPHRASE ou en première ligne de l’entrée standard)
arg-rdlic-server-export-data = Dossier de données d’un serveur de licences initialisé
arg-rdlic-server-export-out = Fichier du paquet à écrire (0600)
about-rdlic-server-join = Préparer le dossier de données d’un autre serveur de la grappe à partir d’un paquet fait par `rdlic server export` et vérifier que la base appartient à la même identité ; démarrez-le ensuite avec `rdlic server run`
arg-rdlic-server-join-data = Dossier de données du nouveau serveur (vide ou absent)
arg-rdlic-server-join-database = La base PostgreSQL que partage la grappe
arg-rdlic-server-join-bundle = Paquet fait par `rdlic server export`
about-rdlic-server-list = Lister les serveurs de licences qui partagent la base de ce serveur, avec leur dernier battement de cœur
about-rdlic-server-forget = Retirer de la liste de la grappe un serveur de licences arrêté pour de bon (refusé tant que son battement de cœur est récent : un serveur en marche s’inscrit de nouveau)
arg-rdlic-server-forget-id = Identifiant du serveur (donné par `rdlic server list`)
arg-rdlic-server-join-sans = Nom DNS ou adresse IP supplémentaire pour le certificat TLS de ce serveur (répétable)
arg-rdlic-server-run-url = URL à laquelle les hôtes et les administrateurs joignent ce serveur, inscrite dans la liste des serveurs de la grappe (par défaut : l’adresse d’écoute)
# --- end cluster ---

# --- cluster bench ---
arg-rdlic-bench-storm-servers = Essai de bascule : autant de processus `rdlic server` sur une même base PostgreSQL (`--database`), des processus `rdlic host run` qui les listent tous (`--hosts`), des clients qui se connectent sans arrêt ; affiche l’intervalle de bascule, les erreurs et le débit de délivrance avant et après l’arrêt brutal
arg-rdlic-bench-storm-failover_hosts = Essai de bascule : nombre d’hôtes de session, l’hôte i listant les serveurs à partir du serveur i, pour que tous délivrent en même temps tant qu’ils vivent (par défaut : autant que de serveurs)
arg-rdlic-bench-storm-kill_one_after = Essai de bascule : tuer (kill -9) le premier serveur après ce nombre de secondes (il n’est pas redémarré)
arg-rdlic-bench-storm-after_kill = Essai de bascule : secondes de fonctionnement après l’arrêt brutal
arg-rdlic-bench-storm-permanent = Essai de bascule : licences permanentes du pack de clés
arg-rdlic-bench-storm-database = Essai de bascule : URL d’un serveur PostgreSQL (postgres://UTILISATEUR@HÔTE:PORT/BASE) ; une nouvelle base y est créée
# --- end cluster bench ---
# --- Windows registry rules ---
arg-rdlic-diagnose-reg_file = Diagnostiquer un hôte de session Windows à partir de fichiers `reg export` (répétable ; fusionnés dans l’ordre) au lieu de cet hôte
# --- end Windows registry rules ---
arg-rdlic-server-run-temporary_cal_retention_days = Supprimer les CAL par périphérique temporaires expirées depuis plus de ce nombre de jours (audité ; 0 les garde)
