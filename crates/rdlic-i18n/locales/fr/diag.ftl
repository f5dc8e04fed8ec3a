# Messages de rdlic-diag, en français. Format : sous-ensemble de Fluent (une ligne `clé = texte`, paramètres `{ $nom }`).
# Les messages d'erreur côté client reprennent la formulation de l'article Microsoft (seed).

word-yes = oui
word-no = non
errinfo-name = { $name } ({ $code })

## Error Alert dwErrorCode (MS-RDPBCGR 2.2.1.12.1.3)
alert-0x1 = le client a refusé le certificat du serveur
alert-0x2 = le client n’a pas de licence à présenter
alert-0x3 = un code d’authentification de message ne correspond pas
alert-0x4 = la licence du client a été émise pour une autre étendue
alert-0x6 = aucun serveur de licences n’a pu fournir de licence
alert-0x7 = le client est licencié (ou n’a pas besoin de licence) : la connexion continue
alert-0x8 = le client n’a pas pu obtenir de licence (aucune licence d’accès client disponible, ou licence non valide)
alert-0xb = l’identifiant de produit n’est pas valide
alert-0xc = un message de licence a une longueur non valide
alert-unknown = le code d’erreur { $code } ne figure pas dans la spécification

## dwStateTransition
st-0x1 = le client doit mettre fin à la connexion
st-0x2 = la connexion continue
st-0x3 = l’échange de licences reprend depuis le début
st-0x4 = le client doit renvoyer son dernier message
st-unknown = la transition d’état { $code } ne figure pas dans la spécification

## Set Error Info, plage des licences (MS-RDPBCGR 2.2.5.1.1) : signification, puis message vu par l’utilisateur
errinfo-0x100 = une erreur interne s’est produite dans le composant de licences de l’ordinateur distant
errinfo-0x101 = aucun serveur de licences des services Bureau à distance n’a été trouvé pour fournir une licence
errinfo-0x102 = aucune licence d’accès client n’est disponible pour l’ordinateur distant
errinfo-0x103 = l’ordinateur distant a reçu un message de licence non valide du client
errinfo-0x104 = la licence d’accès client stockée par le client a été modifiée
errinfo-0x105 = la licence d’accès client stockée par le client est dans un format non valide
errinfo-0x106 = des problèmes réseau ont interrompu le protocole de licences
errinfo-0x107 = le client a mis fin prématurément au protocole de licences
errinfo-0x108 = un message de licence a été chiffré de façon incorrecte
errinfo-0x109 = la licence d’accès client stockée par le client n’a pas pu être mise à niveau ni renouvelée
errinfo-0x10a = l’ordinateur distant n’a pas de licence pour accepter des connexions à distance
errinfo-unknown = information d’erreur { $code } (pas un code de licence)
errinfo-user-0x100 = La session distante a été déconnectée en raison d’une erreur dans le protocole de licences.
errinfo-user-0x101 = La session distante a été déconnectée, car aucun serveur de licences des services Bureau à distance n’est disponible pour fournir une licence.
errinfo-user-0x102 = La session distante a été déconnectée, car aucune licence d’accès client des services Bureau à distance n’est disponible pour cet ordinateur.
errinfo-user-0x103 = La session distante a été déconnectée, car l’ordinateur distant a reçu un message de licence non valide de cet ordinateur.
errinfo-user-0x104 = La session distante a été déconnectée, car la licence d’accès client des services Bureau à distance stockée sur cet ordinateur a été modifiée.
errinfo-user-0x105 = La session distante a été déconnectée, car la licence d’accès client des services Bureau à distance stockée sur cet ordinateur est dans un format non valide.
errinfo-user-0x106 = La session distante a été déconnectée, car des problèmes réseau ont interrompu le protocole de licences.
errinfo-user-0x107 = La session distante a été déconnectée, car le client a mis fin prématurément au protocole de licences.
errinfo-user-0x108 = La session distante a été déconnectée, car un message de licence a été chiffré de façon incorrecte.
errinfo-user-0x109 = La session distante a été déconnectée, car la licence d’accès client des services Bureau à distance stockée sur cet ordinateur n’a pas pu être mise à niveau ni renouvelée.
errinfo-user-0x10a = La session distante a été déconnectée, car l’ordinateur distant n’a pas de licence pour accepter des connexions à distance.

## Rapport de la sonde
probe-title = rdlic probe { $target } ({ $address })
probe-client = Nom du client : { $client }   utilisateur : { $user }   session d’administration (/admin) : { $admin }
probe-security = Protocole de sécurité : { $protocol } { $tls }
probe-phases = Phases de la connexion :
phase-tcp-connect = connexion TCP
phase-connection-initiation = initiation de la connexion (X.224)
phase-security-upgrade = négociation TLS
phase-credssp = CredSSP
phase-basic-settings-exchange = échange des paramètres de base (MCS/GCC)
phase-channel-connection = connexion des canaux
phase-secure-settings-exchange = échange des paramètres sécurisés (Client Info)
phase-auto-detection = détection automatique à la connexion
phase-licensing = licences
phase-after-licensing = après les licences
phase-other = autre
phase-total = total
probe-license-request = Demande de licence : produit { $product } de « { $company } », version { $version }, étendue { $scopes } ; certificat { $certificate } ({ $bits } bits), préambule { $preamble }
probe-no-license-request = Demande de licence : aucune (le serveur a terminé l’étape des licences d’emblée, comme pour une session d’administration)
cert-proprietary = propriétaire
cert-x509 = X.509
cert-none = aucun
probe-presented = Licence stockée présentée : { $path } (Client License Info)
probe-errinfo = Set Error Info : { $name } ({ $code }) : { $meaning }
probe-user-sees = L’utilisateur voit : « { $message } »
probe-after = Après les licences : { $what }
after-demand-active = Demand Active : le client passe à l’échange des capacités
after-disconnected = le serveur a coupé la connexion
after-timeout = rien de décisif avant l’expiration du délai
after-not-reached = non atteint
probe-store-error = Impossible de stocker la licence : { $error }
probe-failure = Sonde interrompue : { $error }
probe-verdict-admitted = Verdict : ce client franchit l’étape des licences.
probe-verdict-refused = Verdict : ce client n’est PAS admis.
licensing-valid-client = Licences : client valide, aucune licence émise (STATUS_VALID_CLIENT, ST_NO_TRANSITION)
licensing-new-license = Licences : nouvelle licence émise (Server New License) : produit { $product } de « { $company } », étendue { $scope }, version { $version }, { $size } octets
licensing-upgrade-license = Licences : licence mise à niveau ou renouvelée (Server Upgrade License) : produit { $product } de « { $company } », étendue { $scope }, version { $version }, { $size } octets
cal-kind-temporary = temporaire
cal-kind-permanent = permanente
licensing-cal = Licence d’accès client : { $kind }, valide du { $from } au { $until } ; émise par { $issuer } ({ $issuer_scope }) ; produit { $product } version { $product_version } ; client { $machine }, utilisateur { $user }
licensing-cal-undecodable = Licence d’accès client : illisible ({ $error })
licensing-stored = Licence stockée dans { $path }
licensing-refused = Licences : REFUSÉ par l’Error Alert { $name } ({ $code }) : { $meaning } ; { $st_name } : { $st_meaning }
licensing-alert = Licences : Error Alert { $name } ({ $code }) : { $meaning } ; { $st_name } : { $st_meaning }
licensing-protocol-error = Licences : le serveur n’a pas respecté le protocole : { $detail }
licensing-skipped = Licences : le serveur n’a envoyé aucun message de licence
licensing-incomplete = Licences : échange inachevé

## Diagnostic : vérifications
check-role = Rôle Hôte de session Bureau à distance
check-mode = Mode de licence
check-servers = Serveurs de licences
check-reachable = Joignable
check-api = TLS et API
check-enrolled = Hôte inscrit
check-activated = Activé
check-cals = Licences d’accès client
check-grace = Période de grâce
check-refusals = Refus récents

## Causes : les cinq de l’article, puis les autres
cause-no-license-server = Cause 1 : il n’y a jamais eu de serveur de licences Bureau à distance dans l’environnement et la période de grâce est écoulée (ou va l’être).
cause-not-activated = Cause 2 : un serveur de licences Bureau à distance a été installé dans l’environnement, mais il n’a jamais été activé.
cause-no-cals = Cause 3 : aucune licence d’accès client (CAL) n’a été installée sur le serveur de licences.
cause-cals-misconfigured = Cause 4 : des licences d’accès client sont disponibles, mais elles n’ont pas été configurées correctement sur cet hôte.
cause-server-problem = Cause 5 : d’autres problèmes sur le serveur de licences l’empêchent de fournir des licences.
cause-host-not-enrolled = Autre cause : cet hôte n’est pas inscrit auprès du serveur de licences.
cause-invalid-mode = Autre cause : LicensingMode contient une valeur non prise en charge.

## Constats
ev-role-not-installed = Remote-Desktop-Services est désactivé : mode d’administration à distance, au plus 2 connexions simultanées, pas de licences.
ev-role-installed = RDS-RD-Server InstallState = 1
ev-mode-ok-2 = LicensingMode = { $mode } (par périphérique)
ev-mode-ok-4 = LicensingMode = { $mode } (par utilisateur)
ev-mode-not-configured-grace = LicensingMode = 5 (non configuré) : les connexions ne sont admises que pendant la période de grâce.
ev-mode-not-configured-over = LicensingMode = 5 (non configuré) et la période de grâce est écoulée : toutes les connexions sont refusées.
ev-mode-invalid = LicensingMode = { $mode } n’est pas une valeur prise en charge (2 par périphérique, 4 par utilisateur).
ev-no-servers-grace = SpecifiedLicenseServers est vide : à la fin de la période de grâce, les connexions seront refusées.
ev-no-servers-over = SpecifiedLicenseServers est vide et la période de grâce est écoulée : les connexions sont refusées avec ERRINFO_LICENSE_NO_LICENSE_SERVER.
ev-servers = SpecifiedLicenseServers = { $servers }
ev-in-process = serveur de licences de démonstration intégré (local)
ev-tcp-failed = impossible d’ouvrir une connexion TCP vers { $server } : { $error }
ev-tcp-ok = connexion TCP vers { $server } en { $ms } ms
ev-api-ok = { $server } répond en TLS (identifiant { $id })
ev-api-failed = { $server } accepte TCP mais son API ne répond pas : { $error }
ev-enrolled = { $server } accepte le certificat de cet hôte
ev-not-enrolled = cet hôte n’est pas inscrit auprès de { $server } : { $detail }
ev-status-failed = l’appel d’état vers { $server } a échoué : { $error }
ev-database = la base de données de { $server } ne répond pas
ev-activated = { $server } est activé
ev-not-activated = { $server } n’a jamais été activé : il n’émet ni licences permanentes ni licences par utilisateur.
ev-not-activated-temporary = { $server } n’a jamais été activé : il n’émet que des licences temporaires par périphérique (90 jours).
ev-no-cals = { $server } n’a aucune licence d’accès client installée.
ev-cals-mismatch = { $server } n’a pas de licences d’accès client { $type } de version { $version } ou ultérieure ; installées (libres/installées) : { $installed }
ev-no-cals-per-user = { $server } n’a aucune licence d’accès client installée : les licences par utilisateur sont surallouées (les clients entrent, mais les conditions de licence ne sont pas respectées).
ev-no-cals-temporary = { $server } n’a aucune licence d’accès client installée : il n’émet que des licences temporaires par périphérique (90 jours).
ev-cals-mismatch-per-user = { $server } n’a pas de licences d’accès client { $type } de version { $version } ou ultérieure : les licences par utilisateur sont surallouées ; installées (libres/installées) : { $installed }
ev-cals-exhausted = toutes les licences { $installed } de { $server } sont émises.
ev-cals-ok = { $server } a des licences pour cet hôte (version >= { $version }, libres/installées) : { $installed }
ev-grace-not-started = l’hôte n’a pas encore démarré : sa période de grâce ({ $days } jours) commencera avec lui.
ev-grace-running = il reste { $days } jours de période de grâce.
ev-grace-expired = la période de grâce est écoulée et aucun serveur de licences ne peut fournir de licence.
ev-grace-expired-served = la période de grâce est écoulée ; un serveur de licences fournit les licences.
ev-grace-ended-by-cal = la période de grâce a pris fin avec la première licence permanente.
ev-no-log = l’hôte ne tient pas de journal des décisions lisible.
ev-no-refusals = aucun refus dans le journal des décisions de l’hôte.
ev-refusals = { $count } refus récents ; le dernier : { $last }

## Corrections
fix-mode = Réglez LicensingMode sur { $mode } ({ $name }), puis redémarrez l’hôte.
fix-mode-2 = Réglez LicensingMode sur { $mode } (par périphérique), puis redémarrez l’hôte.
fix-mode-4 = Réglez LicensingMode sur { $mode } (par utilisateur), comme l’indique l’article, puis redémarrez l’hôte.
fix-servers = Indiquez le serveur de licences dans SpecifiedLicenseServers, puis redémarrez l’hôte.
fix-install-server = S’il n’y a aucun serveur de licences, installez-en un : démarrez-le, activez-le (rdlic activate) et installez des licences d’accès client (rdlic keypack install).
fix-disable-role = Si vous n’avez pas de licences d’accès client, supprimez le rôle Hôte de session Bureau à distance : RDP n’autorise alors que deux connexions simultanées.
fix-activate = Activez { $server } avec son certificat du centre d’activation (sur le serveur de licences).
fix-keypack = Installez sur { $server } un pack de licences d’accès client { $type } de version { $version } ou ultérieure.
fix-reach = Démarrez le serveur de licences { $server }, ouvrez son port ou corrigez SpecifiedLicenseServers.
fix-enroll = Inscrivez cet hôte auprès de { $server } (jeton donné par `rdlic host token` sur le serveur de licences), puis redémarrez l’hôte.

## Sortie du diagnostic
diag-title = rdlic diagnose : { $dir }
sev-ok = OK
sev-info = INFO
sev-warning = AVERTISSEMENT
sev-error = ERREUR
label-fix = correction
label-restart = (redémarrage nécessaire)
summary-ok = Les connexions à cet hôte peuvent obtenir une licence.
summary-refused = Les connexions à cet hôte ne peuvent pas obtenir de licence.
summary-causes = Causes trouvées :
fix-backup = Configuration sauvegardée dans { $path }
fix-applied = Modifié : { $change }
fix-restart = Redémarrez l’hôte (rdlic host run) pour que les modifications prennent effet.
fix-nothing = Aucune correction sûre à appliquer.
fix-manual = Reste à faire à la main :

# --- license server over DCE/RPC (rdlic probe --license-server, diagnose of Windows license servers) ---
rpc-probe-title = rdlic probe --license-server { $target } (mappeur de points de terminaison { $address })
rpc-probe-ept-map = Mappeur de points de terminaison : ept_map pour l’interface Terminal Server Licensing (3d267954-eeb7-11d1-b94e-00c04fa3080d v1.0, ncacn_ip_tcp) : statut { $status }, { $count } tour(s)
rpc-probe-tower = tour : { $protocol } port { $port } adresse { $ip }
rpc-verdict = Verdict : { $text }
rpc-verdict-name-not-resolved = Serveur de licences injoignable : le nom ne se résout pas ({ $error }). Vérifiez le nom dans SpecifiedLicenseServers et le DNS.
rpc-verdict-epm-closed = Serveur de licences injoignable : le port 135 est fermé, la connexion a été refusée ({ $error }). Rien n’y écoute : le serveur est arrêté, ou ce nom n’est pas celui du serveur de licences.
rpc-verdict-epm-filtered = Serveur de licences injoignable : le port 135 est filtré, pas de réponse en { $seconds } s. Un pare-feu rejette la connexion sans répondre : ouvrez TCP 135 de cet hôte vers le serveur de licences.
rpc-verdict-epm-failed = Serveur de licences injoignable : quelque chose répond sur le port 135, mais pas un mappeur de points de terminaison utilisable ({ $error }).
rpc-verdict-not-registered = Serveur de licences injoignable : le mappeur de points de terminaison répond, mais l’interface de licences n’est pas enregistrée sur TCP (statut { $status }, { $count } tour(s)). `telnet <serveur> 135` réussit ici et ne prouve rien : le service Gestionnaire de licences des services Bureau à distance (TermServLicensing) n’est pas démarré ou pas installé sur ce serveur, ou il ne sert le RPC que par canaux nommés (TCP 445).
rpc-verdict-port-closed = Serveur de licences injoignable : l’interface de licences est enregistrée sur { $address }, mais ce port refuse les connexions ({ $error }) : le service s’est arrêté, ou un pare-feu rejette les ports RPC dynamiques.
rpc-verdict-port-filtered = Serveur de licences injoignable : l’interface de licences est enregistrée sur { $address }, mais ce port ne répond pas ({ $error }) : un pare-feu laisse passer 135 mais pas les ports RPC dynamiques. Ouvrez TCP 49152-65535 (ou au moins ce port) de cet hôte vers le serveur de licences.
rpc-verdict-interface-failed = Serveur de licences injoignable : le port de licences { $address } a accepté la connexion, mais la liaison (bind) a échoué ({ $error }).
rpc-verdict-reachable = l’interface de licences a accepté la liaison (bind) sur { $address } : le serveur de licences est joignable en RPC.
rpc-verdict-bind-nak = Serveur de licences injoignable : le port de licences { $address } a refusé la liaison (bind_nak, raison { $reason }).
rpc-verdict-context-rejected = Serveur de licences injoignable : le serveur sur { $address } a rejeté l’interface de licences dans son bind_ack (raison { $reason }) : le port parle RPC mais ne sert pas cette interface.
rpc-proves-reachable = Ce que prouve une liaison : l’interface RPC du serveur de licences est joignable depuis cet hôte. Pas que le serveur est activé, ni qu’il détient des licences d’accès client (CAL) du bon type et de la bonne version : vérifiez-le sur le serveur de licences (Gestionnaire de licences des services Bureau à distance).
rpc-means-epm = Ce que cela signifie : cet hôte ne peut pas utiliser le mappeur de points de terminaison du serveur de licences, il ne peut donc pas trouver le service de licences (serveur de licences injoignable).
rpc-means-interface = Ce que cela signifie : le mappeur de points de terminaison répond, donc `telnet <serveur> 135` réussirait, et pourtant cet hôte ne peut pas joindre le service de licences (serveur de licences injoignable).
check-rpc = RPC du serveur de licences
ev-rpc-reachable = { $server } : l’interface de licences a accepté une liaison RPC sur { $address } (joignable ; l’activation et les CAL ne peuvent pas être vérifiées d’ici)
fix-rpc-firewall = Entre cet hôte et { $server }, ouvrez TCP 135 et la plage RPC dynamique TCP 49152-65535 (ou TCP 445 pour le RPC par canaux nommés), et vérifiez que le service Gestionnaire de licences des services Bureau à distance tourne sur { $server }.
fix-rpc-name = Corrigez le nom { $server } dans SpecifiedLicenseServers, ou son enregistrement DNS.
# --- end license server over DCE/RPC ---
# --- cluster ---
ev-answered-by = les { $count } dernières demandes de licence ont eu la réponse de : { $servers }
ev-failover = { $count } d’entre elles sont passées à un autre serveur de licences ; la dernière ({ $client }) : { $attempts }
# --- end cluster ---
# --- Windows registry rules: Group Policy precedence, reg export files, offline disks ---
check-policy = Stratégie de groupe
check-connections = Connexions Bureau à distance
check-port = Port RDP
check-services = Services
check-licensing-role = Rôle Gestion des licences des services Bureau à distance
diag-title-registry = rdlic diagnose — registre Windows de { $source }
ev-policy-mode = LicensingMode = { $mode } est défini par une stratégie de groupe ({ $key }) ; la valeur locale sous Licensing Core est identique ou absente.
ev-policy-mode-shadows = LicensingMode = { $mode } vient d’une stratégie de groupe ({ $key }) et l’emporte sur la valeur locale { $local } sous { $local_key } : un reg add de la valeur locale reste sans effet tant que la stratégie est définie.
ev-policy-servers = LicenseServers = { $servers } est défini par une stratégie de groupe ({ $key }) ; SpecifiedLicenseServers est identique ou absent.
ev-policy-servers-shadows = LicenseServers = { $servers } vient d’une stratégie de groupe ({ $key }) et l’emporte sur SpecifiedLicenseServers = { $local } sous { $local_key } : un reg add de la valeur locale reste sans effet tant que la stratégie est définie.
ev-servers-under = SpecifiedLicenseServers = { $servers } (sous { $key })
ev-servers-under-parameters = SpecifiedLicenseServers = { $servers }, trouvé sous { $key }, la clé que nomme la ligne reg de l’article ; la console des services Bureau à distance l’écrit dans sa sous-clé LicenseServers.
ev-mode-not-configured-unknown = LicensingMode = 5 (non configuré) : les connexions sont refusées dès la fin de la période de grâce (le registre ne dit pas ce qu’il en reste).
ev-no-servers-unknown = aucun serveur de licences n’est configuré : les connexions sont refusées avec ERRINFO_LICENSE_NO_LICENSE_SERVER dès la fin de la période de grâce (le registre ne dit pas ce qu’il en reste).
ev-server-not-checked = { $server } : non contacté (diagnostic d’un registre) ; vérifiez-le depuis une machine qui le joint.
ev-grace-key-present = la clé de la période de grâce (RCM\GracePeriod) existe : la période de grâce a commencé. Sa fin est une donnée protégée : sur la machine, GetGracePeriodDays (Win32_TerminalServiceSetting) donne les jours restants. Microsoft déconseille de la réinitialiser.
ev-grace-key-absent = pas de clé de période de grâce (RCM\GracePeriod) : la période de grâce n’a pas commencé sur ce système.
ev-role-unknown = la clé ServerComponentCache n’est pas dans le registre lu : le rôle Hôte de session Bureau à distance est considéré comme installé (le message de l’article n’apparaît qu’avec lui).
ev-role-state = RDS-RD-Server InstallState = { $state }
ev-licensing-role = cette machine est aussi un serveur de licences (Services\TermServLicensing existe{ $state }).
ev-licensing-role-absent = pas de rôle Gestion des licences sur cette machine (pas de clé Services\TermServLicensing) : les serveurs de licences sont d’autres machines.
ev-connections-allowed = fDenyTSConnections = 0 (sous { $key }) : les connexions Bureau à distance sont autorisées.
ev-connections-denied = fDenyTSConnections = 1 (sous { $key }) : les connexions Bureau à distance sont refusées avant la gestion des licences.
ev-connections-denied-policy = fDenyTSConnections = 1 venant d’une stratégie de groupe ({ $key }) l’emporte sur la valeur locale { $local } : les connexions Bureau à distance sont refusées, et un reg add de la valeur locale reste sans effet.
ev-port = RDP-Tcp écoute sur le port { $port }.
ev-port-custom = RDP-Tcp écoute sur le port { $port }, pas 3389 : les clients doivent se connecter à HÔTE:{ $port } et le pare-feu doit l’autoriser.
ev-service-start = { $service } Start = { $start } ({ $name }).
ev-service-disabled-termservice = TermService Start = 4 (désactivé) : les services Bureau à distance ne démarrent pas ; personne ne peut se connecter.
ev-service-disabled-sessionenv = SessionEnv Start = 4 (désactivé) : la configuration du Bureau à distance ne démarre pas ; l’ouverture des sessions peut échouer.
ev-service-disabled-umrdpservice = UmRdpService Start = 4 (désactivé) : le redirecteur de port du mode utilisateur ne démarre pas ; lecteurs, imprimantes et ports redirigés échouent, et certains clients ne peuvent pas se connecter.
fix-policy-mode = Réglez la stratégie de groupe « Définir le mode de licence du Bureau à distance » sur { $name } (gpedit.msc : Configuration ordinateur > Modèles d’administration > Composants Windows > Services Bureau à distance > Hôte de session Bureau à distance > Gestion de licences), ou la GPO de domaine qui la définit, puis lancez gpupdate /force ; la valeur de registre qu’elle écrit :
fix-policy-servers = Modifiez la stratégie de groupe « Utiliser les serveurs de licences Bureau à distance spécifiés » (gpedit.msc : Configuration ordinateur > Modèles d’administration > Composants Windows > Services Bureau à distance > Hôte de session Bureau à distance > Gestion de licences), ou la GPO de domaine qui la définit, puis lancez gpupdate /force ; la valeur de registre qu’elle écrit :
fix-policy-remove = Ou passez cette stratégie à « Non configuré » pour que la valeur locale s’applique (supprimer la valeur à la main ne dure que jusqu’à ce qu’une GPO de domaine la réécrive) :
fix-policy-connections = Réglez la stratégie « Autoriser les utilisateurs à se connecter à distance à l’aide des services Bureau à distance » (… > Hôte de session Bureau à distance > Connexions) sur Activé ou Non configuré, puis lancez gpupdate /force ; ou supprimez la valeur :
fix-connections = Autorisez les connexions Bureau à distance (la « Commande d’exécution » du portail Azure ou la console série peuvent le faire) :
fix-service-start = Remettez le service en démarrage manuel (3), comme Windows l’installe, puis redémarrez la machine :
fix-mode-windows = Réglez LicensingMode sur { $mode } ({ $name }), comme l’indique l’article, puis redémarrez les services Bureau à distance (ou la machine) :
fix-servers-windows = Indiquez le serveur de licences dans SpecifiedLicenseServers (l’outil Diagnostic des licences le trouve alors), puis redémarrez les services Bureau à distance :
ev-servers-policy = LicenseServers = { $servers } (stratégie de groupe, sous { $key })
label-offline = hors ligne
# --- end Windows registry rules ---
