// rdlic RD Licensing Manager: the license server's admin page. Vanilla JavaScript, no dependencies, no build step.
// Talks only to the admin API of the server that serves it (same origin), with the admin token typed at login.
// Every value shown comes from the API and is refreshed by polling, so nothing needs a reload to be true.
'use strict';

/** How often the data is fetched again (milliseconds). */
const POLL_MS = 3000;
/** Longest wait between two polls after failures (the wait doubles from POLL_MS on each failure). */
const POLL_MAX_MS = 60000;
/** CALs per page of the issued-licenses view (the server's page size is at most 1000). */
const LICENSE_PAGE = 200;
/** Where the token lives: this tab only, gone when the tab closes. */
const TOKEN_KEY = 'rdlic.admin.token';

// ---------------------------------------------------------------------------------------------------------------
// Translations. One entry per line: `key: { en: '...', fr: '...' }` (a unit test in src/lib.rs checks both exist).

const MESSAGES = {
  title: { en: 'RD Licensing Manager', fr: 'Gestionnaire de licences des services Bureau à distance' },
  login_intro: { en: 'Sign in with the admin password set by `rdlic server init`, or with the admin token of this license server (the file DATA/admin.token on the server).', fr: 'Connectez-vous avec le mot de passe d’administration défini par `rdlic server init`, ou avec le jeton d’administration de ce serveur de licences (le fichier DATA/admin.token sur le serveur).' },
  token: { en: 'Admin password or token', fr: 'Mot de passe ou jeton d’administration' },
  login_refused: { en: 'Neither the admin password nor the admin token matched: check the password set by `rdlic server init`, or use the token in DATA/admin.token.', fr: 'Ni le mot de passe ni le jeton d’administration ne correspondent : vérifiez le mot de passe défini par `rdlic server init`, ou utilisez le jeton de DATA/admin.token.' },
  sign_in: { en: 'Sign in', fr: 'Se connecter' },
  sign_out: { en: 'Sign out', fr: 'Se déconnecter' },
  signed_out_refused: { en: 'You were signed out (the session expired or the token was refused): sign in again with the admin password or the token in DATA/admin.token.', fr: 'Vous avez été déconnecté (session expirée ou jeton refusé) : reconnectez-vous avec le mot de passe d’administration ou le jeton de DATA/admin.token.' },
  nav_overview: { en: 'Overview', fr: 'Vue d’ensemble' },
  nav_keypacks: { en: 'Key packs', fr: 'Packs de licences' },
  nav_licenses: { en: 'Issued licenses', fr: 'Licences délivrées' },
  nav_users: { en: 'Per-user report', fr: 'Rapport par utilisateur' },
  nav_hosts: { en: 'Session hosts', fr: 'Hôtes de session' },
  nav_diagnostics: { en: 'Diagnostics', fr: 'Diagnostic' },
  server_id: { en: 'License server', fr: 'Serveur de licences' },
  updated_at: { en: 'Updated {time}', fr: 'Mis à jour à {time}' },
  loading: { en: 'Loading…', fr: 'Chargement…' },
  activated: { en: 'Activated', fr: 'Activé' },
  not_activated: { en: 'Not activated', fr: 'Non activé' },
  not_activated_hint: { en: 'A server that is not activated issues only temporary per-device CALs (90 days).', fr: 'Un serveur non activé ne délivre que des licences d’accès client (CAL) temporaires par périphérique (90 jours).' },
  activation: { en: 'Activation', fr: 'Activation' },
  database: { en: 'License database', fr: 'Base de licences' },
  db_ok: { en: 'Answers', fr: 'Répond' },
  db_down: { en: 'Does not answer', fr: 'Ne répond pas' },
  hosts_enrolled: { en: 'Enrolled session hosts', fr: 'Hôtes de session inscrits' },
  license_servers: { en: 'License servers on this database', fr: 'Serveurs de licences sur cette base' },
  col_url: { en: 'Address', fr: 'Adresse' },
  col_started: { en: 'Started', fr: 'Démarré' },
  col_heartbeat: { en: 'Last heartbeat', fr: 'Dernier signe de vie' },
  server_up: { en: 'Running', fr: 'En marche' },
  server_down: { en: 'Not answering', fr: 'Ne répond pas' },
  server_stopped: { en: 'Stopped', fr: 'Arrêté' },
  server_this: { en: 'this page', fr: 'cette page' },
  no_servers: { en: 'No license server has recorded a heartbeat yet.', fr: 'Aucun serveur de licences n’a encore donné signe de vie.' },
  servers_note: { en: 'Every server writes a heartbeat every {every} s; one silent for {stale} s is shown as not answering. Session hosts list them all in SpecifiedLicenseServers.', fr: 'Chaque serveur donne signe de vie toutes les {every} s ; celui qui se tait depuis {stale} s est indiqué comme ne répondant pas. Les hôtes de session les listent tous dans SpecifiedLicenseServers.' },
  refusals: { en: 'Refused CAL requests', fr: 'Demandes de CAL refusées' },
  refusals_since_start: { en: 'since the server started (per device: {device}, per user: {user})', fr: 'depuis le démarrage du serveur (par périphérique : {device}, par utilisateur : {user})' },
  refusals_list_below: { en: 'Connections refused by session hosts are listed below.', fr: 'Les connexions refusées par les hôtes de session sont listées plus bas.' },
  recent_refusals: { en: 'Recent refusals reported by session hosts', fr: 'Refus récents signalés par les hôtes de session' },
  no_refusals: { en: 'No session host has reported a refused connection.', fr: 'Aucun hôte de session n’a signalé de connexion refusée.' },
  col_when: { en: 'When', fr: 'Quand' },
  col_client: { en: 'Client', fr: 'Client' },
  col_why: { en: 'Why', fr: 'Pourquoi' },
  host_said: { en: 'Host: {reason}', fr: 'Hôte : {reason}' },
  refusal_other: { en: 'The session host refused the connection.', fr: 'L’hôte de session a refusé la connexion.' },
  errinfo_7: { en: 'The session host refused the connection (no administrative slot or session left).', fr: 'L’hôte de session a refusé la connexion (plus de place pour une session d’administration).' },
  errinfo_256: { en: 'Licensing failed inside the session host.', fr: 'La gestion des licences a échoué dans l’hôte de session.' },
  errinfo_257: { en: 'No license server was available and the grace period is over.', fr: 'Aucun serveur de licences n’était disponible et la période de grâce est terminée.' },
  errinfo_258: { en: 'No CAL was available for this client.', fr: 'Aucune CAL n’était disponible pour ce client.' },
  errinfo_259: { en: 'The client sent an invalid licensing message.', fr: 'Le client a envoyé un message de licence invalide.' },
  errinfo_260: { en: 'The client’s CAL belongs to another device.', fr: 'La CAL du client appartient à un autre périphérique.' },
  errinfo_261: { en: 'The client’s CAL is invalid.', fr: 'La CAL du client n’est pas valide.' },
  errinfo_265: { en: 'The client’s CAL could not be upgraded or renewed.', fr: 'La CAL du client n’a pas pu être mise à niveau ni renouvelée.' },
  cals_by_version: { en: 'CALs by type and version', fr: 'CAL par type et version' },
  col_type: { en: 'Type', fr: 'Type' },
  col_version: { en: 'Version', fr: 'Version' },
  col_installed: { en: 'Installed', fr: 'Installées' },
  col_issued: { en: 'Issued', fr: 'Délivrées' },
  col_available: { en: 'Available', fr: 'Disponibles' },
  per_device: { en: 'Per device', fr: 'Par périphérique' },
  per_user: { en: 'Per user', fr: 'Par utilisateur' },
  no_cals: { en: 'No CALs are installed: install a key pack on the Key packs page.', fr: 'Aucune CAL n’est installée : installez un pack de licences dans la page Packs de licences.' },
  chart_title: { en: 'CALs issued per day, last 30 days', fr: 'CAL délivrées par jour, 30 derniers jours' },
  chart_temporary: { en: 'Per device, temporary', fr: 'Par périphérique, temporaires' },
  chart_permanent: { en: 'Per device, permanent', fr: 'Par périphérique, permanentes' },
  chart_user: { en: 'Per user', fr: 'Par utilisateur' },
  chart_empty: { en: 'No CAL issued in the last 30 days.', fr: 'Aucune CAL délivrée ces 30 derniers jours.' },
  col_name: { en: 'Name', fr: 'Nom' },
  col_id: { en: 'Id', fr: 'Id' },
  col_enrolled: { en: 'Enrolled', fr: 'Inscrit le' },
  col_last_contact: { en: 'Last contact', fr: 'Dernier contact' },
  col_grace: { en: 'Grace period', fr: 'Période de grâce' },
  col_state: { en: 'State', fr: 'État' },
  col_cert: { en: 'Certificate (SHA-256)', fr: 'Certificat (SHA-256)' },
  grace_not_reported: { en: 'Each session host reports its grace period, licensing mode and diagnostics at start, every few minutes and right after a refusal.', fr: 'Chaque hôte de session transmet sa période de grâce, son mode de licence et son diagnostic au démarrage, toutes les quelques minutes et juste après un refus.' },
  grace_running: { en: '{n} days left', fr: '{n} jours restants' },
  grace_expired: { en: 'Over', fr: 'Terminée' },
  grace_ended: { en: 'Ended: permanent CAL received', fr: 'Terminée : CAL permanente reçue' },
  grace_not_started: { en: 'Not started', fr: 'Pas commencée' },
  not_reported: { en: 'Not reported yet', fr: 'Pas encore transmis' },
  col_mode: { en: 'Licensing mode', fr: 'Mode de licence' },
  mode_per_device: { en: 'Per device', fr: 'Par périphérique' },
  mode_per_user: { en: 'Per user', fr: 'Par utilisateur' },
  mode_not_configured: { en: 'Not configured', fr: 'Non configuré' },
  mode_remote_administration: { en: 'Remote administration', fr: 'Administration à distance' },
  never: { en: 'never', fr: 'jamais' },
  host_active: { en: 'Enrolled', fr: 'Inscrit' },
  host_revoked: { en: 'Revoked', fr: 'Révoqué' },
  no_hosts: { en: 'No session host is enrolled yet.', fr: 'Aucun hôte de session n’est encore inscrit.' },
  install_pack: { en: 'Install a key pack', fr: 'Installer un pack de licences' },
  install_pack_hint: { en: 'Choose the file made by `rdlic clearinghouse keypack` for this server.', fr: 'Choisissez le fichier produit par `rdlic clearinghouse keypack` pour ce serveur.' },
  install: { en: 'Install', fr: 'Installer' },
  choose_file: { en: 'Choose a file…', fr: 'Choisir un fichier…' },
  no_file: { en: 'No file chosen', fr: 'Aucun fichier choisi' },
  choose_file_first: { en: 'Choose a file first.', fr: 'Choisissez d’abord un fichier.' },
  pack_installed: { en: 'Key pack {id} installed: {count} {type} CALs, version {version}.', fr: 'Pack de licences {id} installé : {count} CAL {type}, version {version}.' },
  pack_already: { en: 'Key pack {id} was already installed: nothing changed.', fr: 'Le pack de licences {id} était déjà installé : rien n’a changé.' },
  installed_packs: { en: 'Installed key packs', fr: 'Packs de licences installés' },
  no_packs: { en: 'No key pack is installed.', fr: 'Aucun pack de licences n’est installé.' },
  col_pack: { en: 'Key pack', fr: 'Pack' },
  col_program: { en: 'Program', fr: 'Programme' },
  col_count: { en: 'CALs', fr: 'CAL' },
  col_installed_at: { en: 'Installed on', fr: 'Installé le' },
  col_expires: { en: 'Expires', fr: 'Expire le' },
  no_expiry: { en: 'never', fr: 'jamais' },
  activation_steps: { en: 'Send the activation request to the vendor (`rdlic clearinghouse activate`), then upload the activation certificate it returns.', fr: 'Envoyez la demande d’activation au fournisseur (`rdlic clearinghouse activate`), puis chargez le certificat d’activation qu’il renvoie.' },
  download_request: { en: 'Download the activation request', fr: 'Télécharger la demande d’activation' },
  upload_activation: { en: 'Activate with this certificate', fr: 'Activer avec ce certificat' },
  activated_now: { en: 'The license server is activated: it can now issue permanent CALs.', fr: 'Le serveur de licences est activé : il peut maintenant délivrer des CAL permanentes.' },
  activated_long: { en: 'This license server is activated and issues permanent CALs from its key packs.', fr: 'Ce serveur de licences est activé et délivre des CAL permanentes à partir de ses packs.' },
  search: { en: 'Search by device, user or host', fr: 'Rechercher par périphérique, utilisateur ou hôte' },
  show_all: { en: 'Also show revoked, replaced and expired CALs', fr: 'Afficher aussi les CAL révoquées, remplacées et expirées' },
  col_serial: { en: 'Serial', fr: 'Numéro' },
  col_device: { en: 'Device', fr: 'Périphérique' },
  col_user: { en: 'User', fr: 'Utilisateur' },
  col_host: { en: 'Session host', fr: 'Hôte de session' },
  col_kind: { en: 'Kind', fr: 'Nature' },
  col_issued_at: { en: 'Issued on', fr: 'Délivrée le' },
  col_status: { en: 'Status', fr: 'Statut' },
  kind_temporary: { en: 'temporary', fr: 'temporaire' },
  kind_permanent: { en: 'permanent', fr: 'permanente' },
  status_active: { en: 'active', fr: 'active' },
  status_revoked: { en: 'revoked', fr: 'révoquée' },
  status_superseded: { en: 'replaced', fr: 'remplacée' },
  status_expired: { en: 'expired', fr: 'expirée' },
  revoke: { en: 'Revoke', fr: 'Révoquer' },
  confirm_revoke: { en: 'Revoke CAL {serial} of {device}? The CAL goes back to the pack; the device gets a new one at its next connection.', fr: 'Révoquer la CAL {serial} de {device} ? La CAL retourne dans le pack ; le périphérique en recevra une nouvelle à sa prochaine connexion.' },
  revoked_ok: { en: 'CAL {serial} of {device} revoked: it went back to its key pack.', fr: 'CAL {serial} de {device} révoquée : elle est retournée dans son pack.' },
  rule_20: { en: 'Rule: at most 20% of the per-device CALs of one version installed (at least 1) may be in the revoked state at a time; a revoked CAL leaves that state at its original expiry date (52 to 89 days).', fr: 'Règle : au plus 20 % des CAL par périphérique installées d’une version (au moins 1) peuvent être à l’état révoqué en même temps ; une CAL révoquée quitte cet état à sa date d’expiration d’origine (52 à 89 jours).' },
  rule_numbers: { en: 'Rule: at most {percent}% of the per-device CALs of one version installed (at least 1) may be in the revoked state at a time: {limit} for version {version}. A revoked CAL leaves that state at its original expiry date.', fr: 'Règle : au plus {percent} % des CAL par périphérique installées d’une version (au moins 1) peuvent être à l’état révoqué en même temps : {limit} pour la version {version}. Une CAL révoquée quitte cet état à sa date d’expiration d’origine.' },
  revoke_refused_limit: { en: 'Revocation refused: version {version} already has {revoked} revoked CAL(s), the most allowed at a time is {limit}.', fr: 'Révocation refusée : la version {version} compte déjà {revoked} CAL révoquée(s), le maximum autorisé en même temps est {limit}.' },
  revoke_next: { en: 'The next revocation of a version {version} CAL is possible on {date}.', fr: 'La prochaine révocation d’une CAL de version {version} sera possible le {date}.' },
  revoke_refused_other: { en: 'Revocation refused.', fr: 'Révocation refusée.' },
  not_permanent: { en: 'Only permanent per-device CALs can be revoked.', fr: 'Seules les CAL permanentes par périphérique peuvent être révoquées.' },
  not_active: { en: 'This CAL is no longer active (revoked, replaced or expired).', fr: 'Cette CAL n’est plus active (révoquée, remplacée ou expirée).' },
  no_licenses: { en: 'No CAL matches.', fr: 'Aucune CAL ne correspond.' },
  page_prev: { en: 'Previous page', fr: 'Page précédente' },
  page_next: { en: 'Next page', fr: 'Page suivante' },
  page_n: { en: 'Page {n}', fr: 'Page {n}' },
  n_of_m: { en: '{n} of {m} CALs shown', fr: '{n} CAL affichées sur {m}' },
  users_summary: { en: '{issued} users hold a per-user CAL; {installed} per-user CALs installed; {over} over-allocated.', fr: '{issued} utilisateurs détiennent une CAL par utilisateur ; {installed} CAL par utilisateur installées ; {over} en surallocation.' },
  download_csv: { en: 'Download CSV', fr: 'Télécharger en CSV' },
  col_last_host: { en: 'Last session host', fr: 'Dernier hôte de session' },
  col_first_seen: { en: 'First seen', fr: 'Première connexion' },
  col_last_seen: { en: 'Last seen', fr: 'Dernière connexion' },
  col_over: { en: 'Over-allocated', fr: 'Surallocation' },
  yes: { en: 'yes', fr: 'oui' },
  no: { en: 'no', fr: 'non' },
  no_users: { en: 'No user holds a per-user CAL.', fr: 'Aucun utilisateur ne détient de CAL par utilisateur.' },
  enroll_title: { en: 'Enroll a session host', fr: 'Inscrire un hôte de session' },
  enroll_hint: { en: 'A one-time token lets one session host get its client certificate. It is shown once.', fr: 'Un jeton à usage unique permet à un hôte de session d’obtenir son certificat client. Il n’est affiché qu’une fois.' },
  token_validity: { en: 'Valid for', fr: 'Valable' },
  one_hour: { en: '1 hour', fr: '1 heure' },
  one_day: { en: '1 day', fr: '1 jour' },
  seven_days: { en: '7 days', fr: '7 jours' },
  make_token: { en: 'Create a one-time token', fr: 'Créer un jeton à usage unique' },
  token_made: { en: 'One-time token (valid until {date}):', fr: 'Jeton à usage unique (valable jusqu’au {date}) :' },
  run_on_host: { en: 'Run this on the session host (as root):', fr: 'Exécutez ceci sur l’hôte de session (en root) :' },
  ca_hint: { en: 'Add `--ca ca.crt` with a copy of the server’s DATA/ca.crt to pin the server instead of trusting the first contact.', fr: 'Ajoutez `--ca ca.crt` avec une copie de DATA/ca.crt du serveur pour épingler le serveur au lieu de faire confiance au premier contact.' },
  enrolled_hosts: { en: 'Enrolled session hosts', fr: 'Hôtes de session inscrits' },
  revoke_host: { en: 'Revoke', fr: 'Révoquer' },
  confirm_revoke_host: { en: 'Revoke session host {name}? Its certificate stops working at once.', fr: 'Révoquer l’hôte de session {name} ? Son certificat cesse de fonctionner immédiatement.' },
  host_revoked_ok: { en: 'Session host {name} revoked.', fr: 'Hôte de session {name} révoqué.' },
  diag_intro: { en: 'What the license server can check itself, with the cause among the article’s five and the fix.', fr: 'Ce que le serveur de licences peut vérifier lui-même, avec la cause parmi les cinq de l’article et la correction.' },
  diag_server_title: { en: 'This license server', fr: 'Ce serveur de licences' },
  diag_hosts_title: { en: 'Session hosts (`rdlic diagnose` on each host)', fr: 'Hôtes de session (`rdlic diagnose` sur chaque hôte)' },
  diag_host_title: { en: 'Session host {name}', fr: 'Hôte de session {name}' },
  diag_reported: { en: 'Reported {date} · licensing mode: {mode} · grace period: {grace}', fr: 'Transmis le {date} · mode de licence : {mode} · période de grâce : {grace}' },
  diag_can_license: { en: 'A client connecting now would be licensed.', fr: 'Un client qui se connecte maintenant obtiendrait une licence.' },
  diag_cannot_license: { en: 'A client connecting now would be refused.', fr: 'Un client qui se connecte maintenant serait refusé.' },
  diag_no_report: { en: 'Session host {name} has not reported yet: it reports at start and every few minutes while `rdlic host run` runs.', fr: 'L’hôte de session {name} n’a encore rien transmis : il le fait au démarrage et toutes les quelques minutes tant que `rdlic host run` tourne.' },
  diag_no_findings: { en: 'No finding in the last report.', fr: 'Aucun constat dans le dernier rapport.' },
  col_cause: { en: 'Cause', fr: 'Cause' },
  info: { en: 'Info', fr: 'Info' },
  error: { en: 'Problem', fr: 'Problème' },
  col_check: { en: 'Check', fr: 'Vérification' },
  col_finding: { en: 'Finding', fr: 'Constat' },
  col_fix: { en: 'Fix', fr: 'Correction' },
  ok: { en: 'OK', fr: 'OK' },
  warning: { en: 'Warning', fr: 'Attention' },
  problem: { en: 'Problem', fr: 'Problème' },
  chk_db: { en: 'License database', fr: 'Base de licences' },
  chk_db_ok: { en: 'The license database answers.', fr: 'La base de licences répond.' },
  chk_db_bad: { en: 'The license database does not answer: no CAL can be issued.', fr: 'La base de licences ne répond pas : aucune CAL ne peut être délivrée.' },
  chk_db_fix: { en: 'Start the database (PostgreSQL) or check the SQLite file and disk, then watch this page turn green.', fr: 'Démarrez la base (PostgreSQL) ou vérifiez le fichier SQLite et le disque, puis attendez que cette page passe au vert.' },
  chk_act: { en: 'Activation', fr: 'Activation' },
  chk_act_bad: { en: 'The license server is not activated: clients get only temporary CALs, refused once they expire.', fr: 'Le serveur de licences n’est pas activé : les clients ne reçoivent que des CAL temporaires, refusées à leur expiration.' },
  chk_act_fix: { en: 'Activate the server on the Key packs page.', fr: 'Activez le serveur dans la page Packs de licences.' },
  chk_cals: { en: 'CALs installed', fr: 'CAL installées' },
  chk_cals_ok: { en: '{n} CALs installed in {p} key packs.', fr: '{n} CAL installées dans {p} packs.' },
  chk_cals_bad: { en: 'No CAL is installed: permanent CALs cannot be issued.', fr: 'Aucune CAL n’est installée : aucune CAL permanente ne peut être délivrée.' },
  chk_cals_fix: { en: 'Install a key pack of the type and version the session hosts need.', fr: 'Installez un pack du type et de la version dont les hôtes de session ont besoin.' },
  chk_free: { en: 'Free CALs: {type} {version}', fr: 'CAL libres : {type} {version}' },
  chk_free_ok: { en: '{n} available.', fr: '{n} disponibles.' },
  chk_free_bad: { en: 'All {n} are issued: a new device gets a temporary CAL and is refused when it expires.', fr: 'Les {n} sont toutes délivrées : un nouveau périphérique reçoit une CAL temporaire et sera refusé à son expiration.' },
  chk_free_fix: { en: 'Install another key pack of this type and version, or revoke CALs of devices that are gone.', fr: 'Installez un autre pack de ce type et de cette version, ou révoquez les CAL de périphériques disparus.' },
  chk_over: { en: 'Per-user CALs', fr: 'CAL par utilisateur' },
  chk_over_bad: { en: '{n} users are over-allocated: more per-user CALs are in use than installed.', fr: '{n} utilisateurs sont en surallocation : plus de CAL par utilisateur sont utilisées qu’installées.' },
  chk_over_ok: { en: 'No over-allocation.', fr: 'Pas de surallocation.' },
  chk_over_fix: { en: 'Install per-user CALs for those users.', fr: 'Installez des CAL par utilisateur pour ces utilisateurs.' },
  chk_hosts: { en: 'Session hosts', fr: 'Hôtes de session' },
  chk_hosts_bad: { en: 'No session host is enrolled: no host can ask this server for a license.', fr: 'Aucun hôte de session n’est inscrit : aucun hôte ne peut demander de licence à ce serveur.' },
  chk_hosts_ok: { en: '{n} enrolled.', fr: '{n} inscrits.' },
  chk_hosts_fix: { en: 'Enroll each host on the Session hosts page and list this server in its SpecifiedLicenseServers.', fr: 'Inscrivez chaque hôte dans la page Hôtes de session et ajoutez ce serveur à sa valeur SpecifiedLicenseServers.' },
  chk_host: { en: 'Host {name}', fr: 'Hôte {name}' },
  chk_host_silent: { en: 'Has never contacted this server since it was enrolled.', fr: 'N’a jamais contacté ce serveur depuis son inscription.' },
  chk_host_stale: { en: 'No contact since {date}.', fr: 'Aucun contact depuis le {date}.' },
  chk_host_ok: { en: 'Last contact {date}.', fr: 'Dernier contact le {date}.' },
  chk_host_fix: { en: 'On the host, run `rdlic diagnose`: it tests reachability of each configured license server.', fr: 'Sur l’hôte, lancez `rdlic diagnose` : il teste la joignabilité de chaque serveur de licences configuré.' },
  chk_ref: { en: 'Refusals', fr: 'Refus' },
  chk_ref_bad: { en: 'CAL requests refused since the server started: {n}.', fr: 'Demandes de CAL refusées depuis le démarrage du serveur : {n}.' },
  chk_ref_ok: { en: 'No CAL request was refused since the server started.', fr: 'Aucune demande de CAL refusée depuis le démarrage du serveur.' },
  chk_ref_fix: { en: 'Check activation and free CALs above.', fr: 'Vérifiez l’activation et les CAL libres ci-dessus.' },
  err_network: { en: 'The license server does not answer. Check that it is running; this page retries by itself.', fr: 'Le serveur de licences ne répond pas. Vérifiez qu’il fonctionne ; cette page réessaie d’elle-même.' },
  err_unauthorized: { en: 'The admin token was refused: use the token in the server’s DATA/admin.token file.', fr: 'Le jeton d’administration a été refusé : utilisez le jeton du fichier DATA/admin.token du serveur.' },
  err_malformed_pack: { en: 'This file is not a key pack: choose the file made by `rdlic clearinghouse keypack`.', fr: 'Ce fichier n’est pas un pack de licences : choisissez le fichier produit par `rdlic clearinghouse keypack`.' },
  err_forged_pack: { en: 'This key pack is not signed by the clearinghouse this server trusts: it was refused.', fr: 'Ce pack n’est pas signé par le centre d’activation auquel ce serveur fait confiance : il a été refusé.' },
  err_altered_pack: { en: 'This key pack was changed after it was signed: it was refused.', fr: 'Ce pack a été modifié après sa signature : il a été refusé.' },
  err_foreign_pack: { en: 'This key pack was issued to another license server: ask the vendor for a pack issued to this server’s id.', fr: 'Ce pack a été émis pour un autre serveur de licences : demandez au fournisseur un pack émis pour l’id de ce serveur.' },
  err_expired_pack: { en: 'This key pack has expired: ask the vendor for a new one.', fr: 'Ce pack a expiré : demandez-en un nouveau au fournisseur.' },
  err_bad_pack: { en: 'This key pack is not valid.', fr: 'Ce pack de licences n’est pas valide.' },
  err_pack_conflict: { en: 'Another key pack with the same id is already installed.', fr: 'Un autre pack portant le même id est déjà installé.' },
  err_no_clearinghouse_key: { en: 'This server trusts no clearinghouse key yet: restart it with `--clearinghouse-key clearinghouse.pub`.', fr: 'Ce serveur ne fait encore confiance à aucune clé de centre d’activation : redémarrez-le avec `--clearinghouse-key clearinghouse.pub`.' },
  err_malformed_activation: { en: 'This file is not an activation certificate: choose the file made by `rdlic clearinghouse activate`.', fr: 'Ce fichier n’est pas un certificat d’activation : choisissez le fichier produit par `rdlic clearinghouse activate`.' },
  err_forged_activation: { en: 'This activation certificate is not signed by the clearinghouse this server trusts.', fr: 'Ce certificat d’activation n’est pas signé par le centre d’activation auquel ce serveur fait confiance.' },
  err_altered_activation: { en: 'This activation certificate was changed after it was signed.', fr: 'Ce certificat d’activation a été modifié après sa signature.' },
  err_foreign_activation: { en: 'This activation certificate was made for another license server.', fr: 'Ce certificat d’activation a été établi pour un autre serveur de licences.' },
  err_bad_activation: { en: 'This activation certificate is not valid.', fr: 'Ce certificat d’activation n’est pas valide.' },
  err_unknown_cal: { en: 'No such CAL: it may have been removed meanwhile.', fr: 'Cette CAL n’existe pas : elle a peut-être été supprimée entre-temps.' },
  err_unknown_host: { en: 'No such session host.', fr: 'Cet hôte de session n’existe pas.' },
  err_database_unavailable: { en: 'The license database does not answer: nothing was changed. Try again later.', fr: 'La base de licences ne répond pas : rien n’a été modifié. Réessayez plus tard.' },
  err_body_too_large: { en: 'The file is larger than the server accepts.', fr: 'Le fichier est plus gros que ce que le serveur accepte.' },
  err_other: { en: 'The server refused the request (HTTP {status}).', fr: 'Le serveur a refusé la demande (HTTP {status}).' },
  err_wrong_password: { en: 'Wrong admin password.', fr: 'Mot de passe d’administration incorrect.' },
  err_no_password: { en: 'No admin password is set on this server: sign in with the admin token, or set a password with `rdlic server init --admin-password-stdin`.', fr: 'Aucun mot de passe d’administration n’est défini sur ce serveur : connectez-vous avec le jeton, ou définissez un mot de passe avec `rdlic server init --admin-password-stdin`.' },
  err_no_report: { en: 'This session host has not reported yet.', fr: 'Cet hôte de session n’a encore rien transmis.' },
  err_detail: { en: 'Server message: {message}', fr: 'Message du serveur : {message}' },
  err_not_json: { en: 'The server sent an answer this page does not understand (HTTP {status}).', fr: 'Le serveur a envoyé une réponse que cette page ne comprend pas (HTTP {status}).' },
};

/** `fr` when the browser's first language is French, else `en`. */
const LANG = ((navigator.languages && navigator.languages[0]) || navigator.language || 'en').toLowerCase().startsWith('fr')
  ? 'fr' : 'en';

/** The message `key` in the page's language with `{name}` placeholders filled from `vars`. */
function t(key, vars) {
  const entry = MESSAGES[key];
  let text = entry ? entry[LANG] : key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) text = text.split('{' + k + '}').join(String(v));
  }
  return text;
}

const DATE_FMT = new Intl.DateTimeFormat(LANG === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const DAY_FMT = new Intl.DateTimeFormat(LANG === 'fr' ? 'fr-FR' : 'en-GB', { day: 'numeric', month: 'short' });
const TIME_FMT = new Intl.DateTimeFormat(LANG === 'fr' ? 'fr-FR' : 'en-GB', { timeStyle: 'medium' });
const NUM_FMT = new Intl.NumberFormat(LANG === 'fr' ? 'fr-FR' : 'en-GB');

/** A Unix time (seconds) as a local date and time, or `never` for null. */
function when(secs) {
  return secs === null || secs === undefined ? t('never') : DATE_FMT.format(new Date(secs * 1000));
}
function num(n) {
  return NUM_FMT.format(n);
}

// ---------------------------------------------------------------------------------------------------------------
// DOM helper: `h('tag.class', {attr: value, onclick: fn}, child, ...)`. Text always goes through text nodes, so
// nothing the server sends is ever parsed as HTML.

function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Text with `code spans` in backquotes rendered as <code>. */
function rich(text) {
  return text.split('`').map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

function svg(tag, attrs) {
  const el = document.createElementNS('http' + '://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

function table(headers, rows, emptyText, testid) {
  if (!rows.length) return h('p.empty', { 'data-testid': testid ? testid + '-empty' : null }, rich(emptyText));
  return h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows));
}

// ---------------------------------------------------------------------------------------------------------------
// API access. Errors become `ApiError`s; `describe` turns them into sentences (never raw JSON).

class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body || {}; // the JSON error body (structured fields such as those of a refused revocation)
  }
}

async function api(method, path, body) {
  const headers = state.token ? { Authorization: 'Bearer ' + state.token } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  const text = await resp.text();
  if (!resp.ok) {
    let code = 'http_' + resp.status;
    let message = '';
    let body = {};
    try {
      body = JSON.parse(text);
      code = body.code || code;
      message = body.error || '';
    } catch (_) {
      code = 'not_json';
    }
    throw new ApiError(resp.status, code, message, body);
  }
  if (path.includes('format=csv') || path === '/metrics') return text;
  try {
    return JSON.parse(text);
  } catch (_) {
    throw new ApiError(resp.status, 'not_json', '');
  }
}

/** Sentences for an API error: what happened and what to do, in the page's language, plus the server's words. */
function describe(err) {
  if (!(err instanceof ApiError)) return [String(err)];
  // No answer, or a gateway's answer instead of the license server's.
  if (err.code === 'network' || (err.code === 'not_json' && [502, 503, 504].includes(err.status))) return [t('err_network')];
  if (err.code === 'not_json') return [t('err_not_json', { status: err.status })];
  const key = 'err_' + (err.status === 401 && !['wrong_password', 'no_password'].includes(err.code) ? 'unauthorized' : err.code);
  const lines = [MESSAGES[key] ? t(key) : t('err_other', { status: err.status })];
  if (err.message && !MESSAGES[key]) lines.push(t('err_detail', { message: err.message }));
  else if (err.message && LANG !== 'en') lines.push(t('err_detail', { message: err.message }));
  return lines;
}

/** Sentences for a refused revocation: the 20% rule explained from the numbers the server sends with its 409. */
function describeRevokeRefusal(err) {
  const b = err.body || {};
  const lines = [];
  if (b.reason === 'limit_reached') {
    lines.push(t('revoke_refused_limit', { revoked: b.revoked, limit: b.limit, version: b.cal_version }));
    if (b.next_allowed_at) lines.push(t('revoke_next', { version: b.cal_version, date: when(b.next_allowed_at) }));
    lines.push(t('rule_numbers', { percent: b.percent || 20, limit: b.limit, version: b.cal_version }));
    return lines;
  }
  if (b.reason === 'not_permanent') lines.push(t('revoke_refused_other'), t('not_permanent'));
  else if (b.reason === 'not_active') lines.push(t('revoke_refused_other'), t('not_active'));
  else lines.push(t('revoke_refused_other'), t('err_detail', { message: err.message }));
  lines.push(t('rule_20'));
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// State and polling.

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  data: null, // the last complete snapshot
  loadError: null, // why the last refresh failed (shown in the header)
  updatedAt: null,
  timer: null,
  notice: null, // { kind: 'ok'|'error', lines: [...], page }
  search: '',
  showAll: false,
  token_made: null,
  inFlight: false, // a refresh is running: never two at once
  again: false, // a refresh was asked for while one ran: run one more after it
  failures: 0, // failed refreshes in a row (the poll backs off)
  licAfter: 0, // cursor of the licenses page shown
  licPrev: [], // cursors of the pages before it
  licNext: null, // cursor of the next page, null on the last one
};

/** Refusal counts from the Prometheus text (`rdlic_cal_issuance_total{kind=..,result="refused"}`). */
function refusalsFromMetrics(text) {
  const out = { device: 0, user: 0 };
  for (const line of text.split('\n')) {
    const m = /^rdlic_cal_issuance_total\{kind="([^"]+)",result="refused"\}\s+(\d+)/.exec(line);
    if (m) {
      if (m[1] === 'user') out.user += Number(m[2]);
      else out.device += Number(m[2]);
    }
  }
  return out;
}

async function fetchAll() {
  const [status, packs, licenses, hosts, users, metrics, reported, cluster] = await Promise.all([
    api('GET', '/api/v1/status'),
    api('GET', '/api/v1/admin/keypacks'),
    // One page of CALs in serial order (all states: the chart counts superseded temporary CALs too; the table
    // shows the active ones unless "show all" is ticked).
    api('GET', '/api/v1/admin/licenses?limit=' + LICENSE_PAGE + '&after=' + state.licAfter),
    api('GET', '/api/v1/admin/hosts'),
    api('GET', '/api/v1/admin/reports/per-user?format=json'),
    api('GET', '/metrics').catch(() => ''),
    api('GET', '/api/v1/admin/refusals?limit=50'),
    api('GET', '/api/v1/admin/servers').catch(() => ({ servers: [] })),
  ]);
  state.licNext = licenses.next ?? null;
  return { cluster, status, packs: packs.keypacks, licenses: licenses.licenses, hosts: hosts.hosts, users, refusals: refusalsFromMetrics(metrics),
    hostRefusals: reported.refusals };
}

/** Loads a snapshot and renders it. Never two loads at once: a refresh asked for meanwhile runs after it. */
async function refresh() {
  if (!state.token) return;
  if (state.inFlight) { state.again = true; return; }
  state.inFlight = true;
  try {
    do {
      state.again = false;
      try {
        state.data = await fetchAll();
        state.loadError = null;
        state.updatedAt = new Date();
        state.failures = 0;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          signOut(t('signed_out_refused'));
          return;
        }
        state.loadError = describe(e);
        state.failures += 1;
      }
      render();
    } while (state.again && state.token);
  } finally {
    state.inFlight = false;
  }
}

/** The wait before the next poll: POLL_MS, doubled for each failure in a row, at most POLL_MAX_MS. */
function pollDelay() {
  return Math.min(POLL_MAX_MS, POLL_MS * 2 ** Math.min(state.failures, 5));
}

/** Polls with one timer re-armed after each refresh ends (not setInterval): a slow server never gets overlapping
 * polls, and a failing one is asked less and less often. */
function startPolling() {
  stopPolling();
  const tick = async () => {
    await refresh();
    if (state.timer !== null) state.timer = setTimeout(tick, pollDelay());
  };
  state.timer = setTimeout(tick, POLL_MS);
}
function stopPolling() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

/** Shows another page of licenses: `after` is its cursor, `back` whether it is the previous one. */
function licensePage(after, back) {
  if (back) state.licAfter = state.licPrev.pop() ?? 0;
  else { state.licPrev.push(state.licAfter); state.licAfter = after; }
  refresh();
}

function signOut(reason) {
  stopPolling();
  // Ends a password sign-in's session on the server too (best effort; the admin token itself does not end).
  if (state.token.startsWith('session-') && !reason) api('POST', '/api/v1/admin/logout', {}).catch(() => {});
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = '';
  state.data = null;
  state.token_made = null;
  state.notice = null;
  renderLogin(reason ? [reason] : null);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering. The frame (header, navigation) is rebuilt on each refresh; inputs the administrator is typing into
// live in `state` or are kept in place, so a refresh never loses them.

const PAGES = ['overview', 'keypacks', 'licenses', 'users', 'hosts', 'diagnostics'];

function currentPage() {
  const p = location.hash.replace(/^#\/?/, '');
  return PAGES.includes(p) ? p : 'overview';
}

const root = () => document.getElementById('app');

function renderLogin(errorLines) {
  document.title = t('title');
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true, 'aria-label': t('token') });
  const err = h('div.notice.error', { role: 'alert', 'data-testid': 'login-error', hidden: !errorLines }, (errorLines || []).map((l) => h('p', {}, rich(l))));
  const button = h('button', { type: 'submit' }, t('sign_in'));
  const form = h('form.login', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      const typed = input.value;
      try {
        state.token = await signIn(typed);
        state.data = await fetchAll();
        state.updatedAt = new Date();
        sessionStorage.setItem(TOKEN_KEY, state.token);
        state.loadError = null;
        render();
        startPolling();
      } catch (e) {
        state.token = '';
        const lines = e instanceof ApiError && e.code === 'login_refused' ? [t('login_refused')] : describe(e);
        err.replaceChildren(...lines.map((l) => h('p', {}, rich(l))));
        err.hidden = false;
        button.disabled = false;
      }
    },
  },
  h('h1', {}, t('title')),
  h('p', {}, rich(t('login_intro'))),
  h('label', { for: 'token' }, t('token')), input, button, err);
  root().replaceChildren(h('main.login-page', {}, form));
  input.focus();
}

/**
 * The admin token for what was typed: the token itself, or the token that `POST /api/v1/admin/login` gives for the
 * admin password. What looks like a token (long hex) is tried as one first, anything else as the password first,
 * so that a password is not sent as a bearer token unless it also looks like one.
 */
async function signIn(typed) {
  const asToken = async () => {
    state.token = typed.trim();
    try {
      await api('GET', '/api/v1/admin/hosts');
      return state.token;
    } finally {
      state.token = '';
    }
  };
  const asPassword = async () => {
    state.token = '';
    return (await api('POST', '/api/v1/admin/login', { password: typed })).token;
  };
  const tries = /^[0-9a-f]{32,}$/i.test(typed.trim()) ? [asToken, asPassword] : [asPassword, asToken];
  let last = null;
  for (const attempt of tries) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 400))) throw e;
      last = e;
    }
  }
  throw new ApiError(401, 'login_refused', last ? last.message : '');
}

function render() {
  if (!state.token || !state.data) return;
  document.title = t('title') + ' · ' + t('nav_' + currentPage());
  const page = currentPage();
  const existing = document.getElementById('page');
  // Keep focus and caret in the search box across refreshes.
  const active = document.activeElement && document.activeElement.id;
  const caret = document.activeElement && document.activeElement.selectionStart;
  const d = state.data;
  const header = h('header', {},
    h('div.brand', {}, h('img', { src: 'favicon.svg', alt: '', width: 28, height: 28 }), h('span', {}, t('title'))),
    h('div.meta', {},
      h('span', { title: t('server_id') }, t('server_id') + ' ', h('code', { 'data-testid': 'server-id' }, d.status.server_id)),
      h('span.badge.' + (d.status.activated ? 'good' : 'warn'), { 'data-testid': 'activation-badge' }, d.status.activated ? t('activated') : t('not_activated')),
      h('span.updated', { 'data-testid': 'updated' }, t('updated_at', { time: TIME_FMT.format(state.updatedAt) })),
      h('button.secondary', { onclick: () => signOut(null) }, t('sign_out'))));
  const nav = h('nav', {}, PAGES.map((p) => h('a' + (p === page ? '.current' : ''), { href: '#' + p, 'data-page': p }, t('nav_' + p))));
  const loadErr = state.loadError ? h('div.notice.error', { role: 'alert', 'data-testid': 'load-error' }, state.loadError.map((l) => h('p', {}, rich(l)))) : null;
  let notice = null;
  if (state.notice && state.notice.page === page) {
    notice = h('div.notice.' + state.notice.kind, { role: state.notice.kind === 'error' ? 'alert' : 'status', 'data-testid': 'notice' },
      state.notice.lines.map((l) => h('p', {}, rich(l))));
  }
  const body = PAGE_RENDERERS[page](d);
  const main = h('main', { id: 'page', 'data-page': page }, loadErr, notice, body);
  // Reuse file inputs the administrator already filled, so a poll does not clear a chosen file.
  if (existing && existing.dataset.page === page) {
    for (const picker of existing.querySelectorAll('label.file')) {
      const fresh = main.querySelector(`label.file[for="${picker.htmlFor}"]`);
      if (fresh) fresh.replaceWith(picker);
    }
  }
  root().replaceChildren(header, nav, main);
  if (active) {
    const el = document.getElementById(active);
    if (el && el.tagName === 'INPUT' && el.type === 'search') {
      el.focus();
      if (typeof caret === 'number') el.setSelectionRange(caret, caret);
    }
  }
}

function setNotice(kind, lines) {
  state.notice = { kind, lines, page: currentPage() };
  render();
}

function calTypeName(s) {
  return s === 'per-user' ? t('per_user') : t('per_device');
}

// --- overview -----------------------------------------------------------------------------------------------------

function card(title, value, details, cls, testid) {
  return h('section.card' + (cls ? '.' + cls : ''), { 'data-testid': testid }, h('h3', {}, title), h('p.value', {}, value),
    (details || []).map((d) => h('p.detail', {}, rich(d))));
}

/** A file chooser whose button and "no file" text follow the page's language (the native one follows Chromium's). */
function filePicker(id, label) {
  const name = h('span.file-name', {}, t('no_file'));
  const input = h('input', { type: 'file', id, 'aria-label': label,
    onchange: () => { name.textContent = input.files && input.files[0] ? input.files[0].name : t('no_file'); } });
  return h('label.file', { for: id }, input, h('span.file-button', {}, t('choose_file')), name);
}

function calTable(cals) {
  const rows = cals.map((c) => h('tr', { 'data-cal': c.cal_type + '-' + c.version },
    h('td', {}, calTypeName(c.cal_type)), h('td', {}, String(c.version)),
    h('td.num', { 'data-col': 'installed' }, num(c.installed)),
    h('td.num', { 'data-col': 'issued' }, num(c.issued)),
    h('td.num', { 'data-col': 'available' }, num(c.available))));
  return table([t('col_type'), t('col_version'), t('col_installed'), t('col_issued'), t('col_available')], rows, t('no_cals'), 'cal-table');
}

/** Bars per day for the last 30 days: per-device temporary, per-device permanent, per-user (first sign-in). */
function issuedChart(d) {
  const days = 30;
  const now = Math.floor(Date.now() / 1000);
  const dayStart = (s) => { const x = new Date(s * 1000); x.setHours(0, 0, 0, 0); return x.getTime(); };
  const today = dayStart(now);
  const buckets = [];
  for (let i = days - 1; i >= 0; i--) {
    const x = new Date(today); x.setDate(x.getDate() - i);
    buckets.push({ at: x.getTime(), temporary: 0, permanent: 0, user: 0 });
  }
  const index = new Map(buckets.map((b, i) => [b.at, i]));
  let total = 0;
  for (const c of d.licenses) {
    const i = index.get(dayStart(c.issued_at));
    if (i !== undefined) { buckets[i][c.kind === 'permanent' ? 'permanent' : 'temporary'] += 1; total += 1; }
  }
  for (const u of d.users.entries) {
    const i = index.get(dayStart(u.first_seen));
    if (i !== undefined) { buckets[i].user += 1; total += 1; }
  }
  const series = [['temporary', 'chart_temporary'], ['permanent', 'chart_permanent'], ['user', 'chart_user']];
  const legend = h('ul.legend', {}, series.map(([s, key]) => h('li', {}, h('span.swatch.' + s), t(key))));
  const wrap = h('section.panel.chart', { 'data-testid': 'chart', 'data-total': total }, h('h2', {}, t('chart_title')), legend);
  if (!total) { wrap.append(h('p.empty', {}, t('chart_empty'))); return wrap; }
  const W = 720, H = 180, pad = 28, right = 24, bw = (W - pad - right) / days;
  const max = Math.max(1, ...buckets.map((b) => b.temporary + b.permanent + b.user));
  const s = svg('svg', { viewBox: `0 0 ${W} ${H + 22}`, role: 'img', 'aria-label': t('chart_title'), class: 'bars' });
  for (const frac of [0, 0.5, 1]) {
    const y = H - frac * (H - 10);
    s.append(svg('line', { x1: pad, x2: W, y1: y, y2: y, class: 'grid' }));
    const label = svg('text', { x: pad - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' });
    label.textContent = String(Math.round(frac * max));
    s.append(label);
  }
  buckets.forEach((b, i) => {
    let y = H;
    const x = pad + i * bw + 2;
    for (const [name] of series) {
      const v = b[name];
      if (!v) continue;
      const bh = (v / max) * (H - 10);
      y -= bh;
      const r = svg('rect', { x, y, width: bw - 4, height: bh, class: 'bar ' + name });
      const tip = svg('title', {});
      tip.textContent = `${DAY_FMT.format(new Date(b.at))}: ${v} (${t(series.find((z) => z[0] === name)[1])})`;
      r.append(tip);
      s.append(r);
    }
    if (i % 5 === 4 || i === days - 1) {
      const label = svg('text', { x: x + (bw - 4) / 2, y: H + 16, 'text-anchor': 'middle', class: 'axis' });
      label.textContent = DAY_FMT.format(new Date(b.at));
      s.append(label);
    }
  });
  wrap.append(s);
  return wrap;
}

/** The grace period a host reported, as a badge. */
function graceBadge(report) {
  if (!report) return h('span.badge.muted', { 'data-grace': 'unknown' }, t('not_reported'));
  const g = report.grace || {};
  const [cls, text] = {
    running: [(g.days_left || 0) <= 15 ? 'warn' : 'good', t('grace_running', { n: g.days_left })],
    expired: ['bad', t('grace_expired')],
    'ended-by-permanent-cal': ['good', t('grace_ended')],
    'not-started': ['muted', t('grace_not_started')],
  }[g.state] || ['muted', g.state];
  return h('span.badge.' + cls, { 'data-grace': g.state }, text);
}

function modeText(report) {
  if (!report) return '—';
  const key = 'mode_' + String(report.licensing_mode).replace(/-/g, '_');
  return MESSAGES[key] ? t(key) : report.licensing_mode;
}

/** Why a connection was refused, in words: the ERRINFO sent to the client, then the host's own reason. */
function refusalWhy(r) {
  const key = r.errinfo !== null && r.errinfo !== undefined ? 'errinfo_' + r.errinfo : null;
  const main = key && MESSAGES[key] ? t(key) : t('refusal_other');
  const text = r.errinfo_hex ? main.replace(/\.$/, '') + ' (ERRINFO ' + r.errinfo_hex + ').' : main;
  return [h('span', {}, text), r.reason ? h('br') : null, r.reason ? h('span.muted', {}, t('host_said', { reason: r.reason })) : null];
}

function refusalsPanel(d) {
  const rows = d.hostRefusals.map((r) => h('tr', { 'data-refusal': r.id, 'data-client': r.client },
    h('td', {}, when(r.at)), h('td', {}, r.host), h('td', {}, r.client), h('td', {}, r.user), h('td', {}, refusalWhy(r))));
  return h('section.panel', { 'data-testid': 'refusals-panel' }, h('h2', {}, t('recent_refusals')),
    table([t('col_when'), t('col_host'), t('col_client'), t('col_user'), t('col_why')], rows, t('no_refusals'), 'refusals'));
}

function hostRows(hosts, withActions) {
  return hosts.map((x) => h('tr', { 'data-host': x.name },
    h('td', {}, x.name), h('td', {}, x.id),
    h('td', {}, when(x.enrolled_at)),
    h('td', { 'data-col': 'last-contact' }, when(x.last_contact)),
    h('td', { 'data-col': 'grace' }, graceBadge(x.report)),
    h('td', { 'data-col': 'mode' }, modeText(x.report)),
    withActions ? h('td', {}, h('code.fp', { title: x.cert_sha256 }, x.cert_sha256.slice(0, 16) + '…')) : null,
    h('td', {}, h('span.badge.' + (x.revoked ? 'bad' : 'good'), {}, x.revoked ? t('host_revoked') : t('host_active'))),
    withActions ? h('td', {}, x.revoked ? null : h('button.danger.small', { onclick: () => revokeHost(x) }, t('revoke_host'))) : null));
}

/** The license servers sharing the database, with their heartbeats (`GET /api/v1/admin/servers`). */
function serversPanel(c) {
  const rows = (c.servers || []).map((s) => {
    const state = s.stopped_at ? 'stopped' : (s.alive ? 'up' : 'down');
    return h('tr', { 'data-server': s.id, 'data-this': String(!!s.this) },
      h('td', {}, h('code', {}, s.url), s.this ? h('span.muted', {}, ' (' + t('server_this') + ')') : null),
      h('td', {}, h('code', {}, s.id)), h('td', {}, s.version),
      h('td', {}, when(s.started_at)), h('td', { 'data-col': 'heartbeat' }, when(s.last_heartbeat)),
      h('td', { 'data-col': 'state' }, h('span.badge.' + (state === 'up' ? 'good' : (state === 'down' ? 'bad' : 'muted')), {}, t('server_' + state))));
  });
  return h('section.panel', {}, h('h2', {}, t('license_servers')),
    table([t('col_url'), t('col_id'), t('col_version'), t('col_started'), t('col_heartbeat'), t('col_state')], rows, t('no_servers'), 'servers'),
    c.stale_after ? h('p.note', {}, t('servers_note', { every: c.heartbeat_seconds, stale: c.stale_after })) : null);
}

const PAGE_RENDERERS = {
  overview(d) {
    const enrolled = d.hosts.filter((x) => !x.revoked).length;
    const refused = d.refusals.device + d.refusals.user;
    return h('div', {},
      h('div.cards', {},
        card(t('activation'), d.status.activated ? t('activated') : t('not_activated'), d.status.activated ? null : [t('not_activated_hint')], d.status.activated ? 'good' : 'warn', 'card-activation'),
        card(t('database'), d.status.database_ok ? t('db_ok') : t('db_down'), null, d.status.database_ok ? 'good' : 'bad', 'card-database'),
        card(t('hosts_enrolled'), num(enrolled), null, null, 'card-hosts'),
        card(t('refusals'), num(refused), [t('refusals_since_start', d.refusals), t('refusals_list_below')], refused ? 'warn' : null, 'card-refusals')),
      h('section.panel', {}, h('h2', {}, t('cals_by_version')), calTable(d.status.cals)),
      issuedChart(d),
      h('section.panel', {}, h('h2', {}, t('hosts_enrolled')),
        table([t('col_name'), t('col_id'), t('col_enrolled'), t('col_last_contact'), t('col_grace'), t('col_mode'), t('col_state')], hostRows(d.hosts, false), t('no_hosts'), 'overview-hosts'),
        d.hosts.length ? h('p.note', {}, rich(t('grace_not_reported'))) : null),
      serversPanel(d.cluster),
      refusalsPanel(d));
  },

  keypacks(d) {
    const fileInput = filePicker('pack-file', t('install_pack'));
    const install = h('section.panel', {}, h('h2', {}, t('install_pack')), h('p', {}, rich(t('install_pack_hint'))),
      h('div.row', {}, fileInput, h('button', { 'data-testid': 'install-pack', onclick: () => installPack() }, t('install'))));
    let activation;
    if (d.status.activated) {
      activation = h('section.panel', { 'data-testid': 'activation' }, h('h2', {}, t('activation')), h('p', {}, h('span.badge.good', {}, t('activated')), ' ', t('activated_long')));
    } else {
      const certInput = filePicker('activation-file', t('activation'));
      activation = h('section.panel', { 'data-testid': 'activation' }, h('h2', {}, t('activation')),
        h('p', {}, h('span.badge.warn', {}, t('not_activated')), ' ', t('not_activated_hint')),
        h('p', {}, rich(t('activation_steps'))),
        h('div.row', {}, h('button.secondary', { onclick: downloadActivationRequest }, t('download_request'))),
        h('div.row', {}, certInput, h('button', { 'data-testid': 'activate', onclick: activate }, t('upload_activation'))));
    }
    const rows = d.packs.map((p) => h('tr', { 'data-pack': p.id },
      h('td', {}, h('code', { title: p.id }, p.id.slice(0, 12) + '…')), h('td', {}, calTypeName(p.cal_type)), h('td', {}, String(p.version)),
      h('td', {}, p.program), h('td.num', {}, num(p.count)), h('td.num', {}, num(p.issued)), h('td.num', {}, num(p.available)),
      h('td', {}, when(p.installed_at)), h('td', {}, p.expires_at ? when(p.expires_at) : t('no_expiry'))));
    return h('div', {}, activation, install,
      h('section.panel', {}, h('h2', {}, t('installed_packs')),
        table([t('col_pack'), t('col_type'), t('col_version'), t('col_program'), t('col_count'), t('col_issued'), t('col_available'), t('col_installed_at'), t('col_expires')], rows, t('no_packs'), 'packs')));
  },

  licenses(d) {
    const q = state.search.trim().toLowerCase();
    const all = d.licenses.filter((c) => state.showAll || c.status === 'active');
    const shown = all.filter((c) => !q || [c.client_machine, c.hardware_id, c.user, c.host, c.serial].some((v) => String(v || '').toLowerCase().includes(q)));
    const search = h('input', { type: 'search', id: 'license-search', value: state.search, placeholder: t('search'), 'aria-label': t('search'),
      oninput: (ev) => { state.search = ev.target.value; render(); } });
    const all_box = h('input', { type: 'checkbox', id: 'show-all', checked: state.showAll,
      onchange: (ev) => { state.showAll = ev.target.checked; render(); } });
    const pager = h('div.row', {},
      h('button.small', { 'data-testid': 'licenses-prev', disabled: !state.licPrev.length, onclick: () => licensePage(null, true) }, t('page_prev')),
      h('span.muted', { 'data-testid': 'licenses-page' }, t('page_n', { n: state.licPrev.length + 1 })),
      h('button.small', { 'data-testid': 'licenses-next', disabled: state.licNext === null, onclick: () => licensePage(state.licNext, false) }, t('page_next')));
    const rows = shown.map((c) => h('tr', { 'data-serial': c.serial, 'data-device': c.client_machine },
      h('td', {}, h('code', {}, c.serial)),
      h('td', {}, c.client_machine, h('br'), h('code.muted', { title: c.hardware_id }, c.hardware_id.slice(0, 16) + '…')),
      h('td', {}, c.user), h('td', {}, c.host),
      h('td', {}, t('kind_' + c.kind)), h('td', {}, String(c.version)),
      h('td', {}, when(c.issued_at)), h('td', {}, when(c.expires_at)),
      h('td', { 'data-col': 'status' }, h('span.badge.' + (c.status === 'active' ? 'good' : 'muted'), {}, MESSAGES['status_' + c.status] ? t('status_' + c.status) : c.status)),
      h('td', {}, c.kind === 'permanent' && c.status === 'active' ? h('button.danger.small', { onclick: () => revokeCal(c) }, t('revoke')) : null)));
    return h('div', {},
      h('section.panel', {},
        h('div.row', {}, search, h('label.check', { for: 'show-all' }, all_box, ' ', t('show_all'))),
        h('p.muted', { 'data-testid': 'license-count' }, t('n_of_m', { n: shown.length, m: all.length })),
        table([t('col_serial'), t('col_device'), t('col_user'), t('col_host'), t('col_kind'), t('col_version'), t('col_issued_at'), t('col_expires'), t('col_status'), ''], rows, t('no_licenses'), 'licenses'),
        pager,
        h('p.note', {}, t('rule_20'))));
  },

  users(d) {
    const r = d.users;
    const rows = r.entries.map((u) => h('tr', { 'data-user': u.user },
      h('td', {}, u.user), h('td', {}, String(u.version)), h('td', {}, u.last_host),
      h('td', {}, when(u.first_seen)), h('td', {}, when(u.last_seen)), h('td', {}, when(u.expires_at)),
      h('td', {}, u.over_allocated ? h('span.badge.warn', {}, t('yes')) : t('no'))));
    return h('div', {}, h('section.panel', {},
      h('div.row.spread', {}, h('p', { 'data-testid': 'users-summary' }, t('users_summary', { issued: r.issued, installed: r.installed, over: r.over_allocated })),
        h('button', { 'data-testid': 'download-csv', onclick: downloadCsv }, t('download_csv'))),
      table([t('col_user'), t('col_version'), t('col_last_host'), t('col_first_seen'), t('col_last_seen'), t('col_expires'), t('col_over')], rows, t('no_users'), 'users')));
  },

  hosts(d) {
    const ttl = h('select', { id: 'token-ttl', 'aria-label': t('token_validity') },
      h('option', { value: '3600' }, t('one_hour')), h('option', { value: '86400', selected: true }, t('one_day')), h('option', { value: '604800' }, t('seven_days')));
    if (state.ttl) for (const o of ttl.options) o.selected = o.value === state.ttl;
    ttl.addEventListener('change', () => { state.ttl = ttl.value; });
    let made = null;
    if (state.token_made) {
      const cmd = `rdlic host enroll --server ${location.origin} --token ${state.token_made.token} --dir /var/lib/rdlic-host/ls1`;
      made = h('div.made', { 'data-testid': 'token-made' },
        h('p', {}, t('token_made', { date: when(state.token_made.expires_at) })),
        h('pre', { 'data-testid': 'enroll-token' }, state.token_made.token),
        h('p', {}, t('run_on_host')),
        h('pre', { 'data-testid': 'enroll-command' }, cmd),
        h('p.note', {}, rich(t('ca_hint'))));
    }
    return h('div', {},
      h('section.panel', {}, h('h2', {}, t('enroll_title')), h('p', {}, t('enroll_hint')),
        h('div.row', {}, h('label', { for: 'token-ttl' }, t('token_validity')), ttl, h('button', { 'data-testid': 'make-token', onclick: makeToken }, t('make_token'))),
        made),
      h('section.panel', {}, h('h2', {}, t('enrolled_hosts')),
        table([t('col_name'), t('col_id'), t('col_enrolled'), t('col_last_contact'), t('col_grace'), t('col_mode'), t('col_cert'), t('col_state'), ''], hostRows(d.hosts, true), t('no_hosts'), 'hosts'),
        d.hosts.length ? h('p.note', {}, rich(t('grace_not_reported'))) : null));
  },

  diagnostics(d) {
    const checks = [];
    const add = (level, name, finding, fix) => checks.push({ level, name, finding, fix });
    const s = d.status;
    add(s.database_ok ? 'ok' : 'problem', t('chk_db'), s.database_ok ? t('chk_db_ok') : t('chk_db_bad'), s.database_ok ? '' : t('chk_db_fix'));
    add(s.activated ? 'ok' : 'problem', t('chk_act'), s.activated ? t('activated_long') : t('chk_act_bad'), s.activated ? '' : t('chk_act_fix'));
    const installed = s.cals.reduce((n, c) => n + c.installed, 0);
    add(installed ? 'ok' : 'problem', t('chk_cals'), installed ? t('chk_cals_ok', { n: installed, p: d.packs.length }) : t('chk_cals_bad'), installed ? '' : t('chk_cals_fix'));
    for (const c of s.cals.filter((x) => x.cal_type === 'per-device' && x.installed > 0)) {
      const free = c.available > 0;
      add(free ? 'ok' : 'warning', t('chk_free', { type: calTypeName(c.cal_type).toLowerCase(), version: c.version }), free ? t('chk_free_ok', { n: c.available }) : t('chk_free_bad', { n: c.installed }), free ? '' : t('chk_free_fix'));
    }
    const over = d.users.over_allocated;
    if (d.users.issued) add(over ? 'warning' : 'ok', t('chk_over'), over ? t('chk_over_bad', { n: over }) : t('chk_over_ok'), over ? t('chk_over_fix') : '');
    const live = d.hosts.filter((x) => !x.revoked);
    add(live.length ? 'ok' : 'problem', t('chk_hosts'), live.length ? t('chk_hosts_ok', { n: live.length }) : t('chk_hosts_bad'), live.length ? '' : t('chk_hosts_fix'));
    const now = Math.floor(Date.now() / 1000);
    for (const x of live) {
      if (x.last_contact === null || x.last_contact === undefined) add('warning', t('chk_host', { name: x.name }), t('chk_host_silent'), t('chk_host_fix'));
      else if (now - x.last_contact > 86400) add('warning', t('chk_host', { name: x.name }), t('chk_host_stale', { date: when(x.last_contact) }), t('chk_host_fix'));
      else add('ok', t('chk_host', { name: x.name }), t('chk_host_ok', { date: when(x.last_contact) }), '');
    }
    const refused = d.refusals.device + d.refusals.user;
    add(refused ? 'warning' : 'ok', t('chk_ref'), refused ? t('chk_ref_bad', { n: refused }) : t('chk_ref_ok'), refused ? t('chk_ref_fix') : '');
    const rows = checks.map((c) => h('tr', { 'data-level': c.level },
      h('td', {}, h('span.badge.' + { ok: 'good', warning: 'warn', problem: 'bad' }[c.level], {}, t(c.level))),
      h('td', {}, c.name), h('td', {}, rich(c.finding)), h('td', {}, rich(c.fix))));
    return h('div', {}, h('section.panel', {}, h('h2', {}, t('diag_server_title')), h('p', {}, t('diag_intro')),
      table(['', t('col_check'), t('col_finding'), t('col_fix')], rows, '', 'diagnostics')),
      h('h2.section', {}, rich(t('diag_hosts_title'))),
      live.length ? live.map(hostDiagnosis) : h('p.empty', {}, t('no_hosts')));
  },
};

/** One session host's latest `rdlic diagnose` findings, as it reported them. */
function hostDiagnosis(x) {
  const r = x.report;
  if (!r) return h('section.panel', { 'data-testid': 'host-diagnosis', 'data-host': x.name }, h('h2', {}, t('diag_host_title', { name: x.name })),
    h('p.empty', {}, rich(t('diag_no_report', { name: x.name }))));
  const sev = { ok: 'good', info: 'muted', warning: 'warn', error: 'bad' };
  const rows = r.findings.map((f) => h('tr', { 'data-level': f.severity, 'data-check': f.check },
    h('td', {}, h('span.badge.' + (sev[f.severity] || 'muted'), {}, MESSAGES[f.severity] ? t(f.severity) : f.severity)),
    h('td', {}, h('code', {}, f.check), f.server ? [h('br'), h('span.muted', {}, f.server)] : null),
    h('td', {}, f.evidence, f.cause_text && f.severity !== 'ok' ? [h('br'), h('strong', {}, f.cause_text)] : null),
    h('td', {}, f.fixes.map((fix) => h('div.fix', {}, fix.text ? h('p', {}, fix.text) : null, h('pre', {}, fix.command))))));
  const grace = graceBadge(r).textContent;
  return h('section.panel', { 'data-testid': 'host-diagnosis', 'data-host': x.name },
    h('h2', {}, t('diag_host_title', { name: x.name }), ' ',
      r.can_license === null || r.can_license === undefined ? null
        : h('span.badge.' + (r.can_license ? 'good' : 'bad'), { 'data-testid': 'can-license' }, r.can_license ? t('diag_can_license') : t('diag_cannot_license'))),
    h('p.muted', {}, t('diag_reported', { date: when(r.received_at), mode: modeText(r), grace })),
    table(['', t('col_check'), t('col_finding'), t('col_fix')], rows, t('diag_no_findings'), 'host-findings'));
}

// ---------------------------------------------------------------------------------------------------------------
// Actions. Each one calls the API, shows what happened in words, and fetches fresh data at once.

async function readChosenFile(id) {
  const input = document.getElementById(id);
  const file = input && input.files && input.files[0];
  if (!file) {
    setNotice('error', [t('choose_file_first')]);
    return null;
  }
  return file.text();
}

async function installPack() {
  const text = await readChosenFile('pack-file');
  if (text === null) return;
  try {
    const r = await api('POST', '/api/v1/admin/keypacks', { pack: text });
    const short = r.id.slice(0, 12) + '…';
    setNotice('ok', [r.newly_installed
      ? t('pack_installed', { id: short, count: r.count, type: calTypeName(r.cal_type).toLowerCase(), version: r.version })
      : t('pack_already', { id: short })]);
  } catch (e) {
    setNotice('error', describe(e));
  }
  await refresh();
}

async function activate() {
  const text = await readChosenFile('activation-file');
  if (text === null) return;
  try {
    await api('POST', '/api/v1/admin/activate', { certificate: text });
    setNotice('ok', [t('activated_now')]);
  } catch (e) {
    setNotice('error', describe(e));
  }
  await refresh();
}

function saveBlob(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function downloadActivationRequest() {
  try {
    const r = await api('GET', '/api/v1/admin/activation-request');
    saveBlob('activation-request-' + r.server_id + '.pem', 'application/x-pem-file', r.public_key_pem);
  } catch (e) {
    setNotice('error', describe(e));
  }
}

async function downloadCsv() {
  try {
    const csv = await api('GET', '/api/v1/admin/reports/per-user?format=csv');
    saveBlob('per-user-report.csv', 'text/csv', csv);
  } catch (e) {
    setNotice('error', describe(e));
  }
}

async function revokeCal(c) {
  if (!window.confirm(t('confirm_revoke', { serial: c.serial, device: c.client_machine }))) return;
  try {
    await api('POST', '/api/v1/admin/licenses/' + encodeURIComponent(c.serial) + '/revoke');
    setNotice('ok', [t('revoked_ok', { serial: c.serial, device: c.client_machine })]);
  } catch (e) {
    setNotice('error', e instanceof ApiError && e.code === 'revocation_refused' ? describeRevokeRefusal(e) : describe(e));
  }
  await refresh();
}

async function revokeHost(x) {
  if (!window.confirm(t('confirm_revoke_host', { name: x.name }))) return;
  try {
    await api('POST', '/api/v1/admin/hosts/' + encodeURIComponent(x.id) + '/revoke');
    setNotice('ok', [t('host_revoked_ok', { name: x.name })]);
  } catch (e) {
    setNotice('error', describe(e));
  }
  await refresh();
}

async function makeToken() {
  const ttl = Number(document.getElementById('token-ttl').value);
  try {
    state.token_made = await api('POST', '/api/v1/admin/enroll-tokens', { ttl_seconds: ttl });
    state.notice = null;
    render();
  } catch (e) {
    setNotice('error', describe(e));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Start.

window.addEventListener('hashchange', () => {
  if (state.notice && state.notice.page !== currentPage()) state.notice = null;
  render();
});

document.addEventListener('DOMContentLoaded', async () => {
  document.documentElement.lang = LANG;
  if (!state.token) {
    renderLogin(null);
    return;
  }
  root().replaceChildren(h('p.loading', {}, t('loading')));
  try {
    state.data = await fetchAll();
    state.updatedAt = new Date();
    render();
    startPolling();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut(t('signed_out_refused'));
    else renderLogin(describe(e));
  }
});
