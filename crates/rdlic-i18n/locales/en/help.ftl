# clap about/help texts, English: the doc comments of crates/rdlic/src (a test keeps them equal). Keys: about-<command path>,
# arg-<command path>-<argument id>, or arg-<argument id> for an argument shared by several commands.

about-rdlic = Remote Desktop licensing: license server, session host and diagnostics
arg-rdlic-log = Log filter (tracing EnvFilter syntax), e.g. `info` or `rdlic_host=debug`
arg-rdlic-lang = Language of the messages and of this help: en or fr (default: LC_ALL, LC_MESSAGES or LANG)
about-rdlic-up = Demo: a license server and a session host on loopback with the embedded store
arg-rdlic-up-dir = Demo directory (clearinghouse/, server/, host/)
arg-rdlic-up-rdp_listen = RDP listener of the session host
arg-rdlic-up-api_listen = HTTPS API of the license server
arg-rdlic-up-cals = Permanent per-device CALs in the demo key pack
about-rdlic-server = License server (run)
about-rdlic-server-run = Run the license server (the first run initialises the data dir: identity key, TLS CA, admin token)
arg-rdlic-server-run-data = Data directory (keys 0600, TLS CA, admin token, SQLite database rdlic.db)
arg-rdlic-server-run-listen = Listen address
arg-rdlic-server-run-database = Database: postgres://USER@HOST/DB, sqlite://PATH or a SQLite file path (default: DATA/rdlic.db)
arg-rdlic-server-run-clearinghouse_key = Clearinghouse public key (PEM) to trust for activation and key packs; kept in the data dir
arg-rdlic-server-run-sans = Extra DNS name or IP address for the TLS certificate (repeatable): the names hosts use to reach the server
arg-rdlic-server-run-max_body = Largest request body accepted, in bytes
arg-rdlic-server-run-enforce_per_user = Refuse per-user CALs when none is free (Windows allows over-allocation and reports it)
arg-rdlic-server-run-max_batch = Most per-device CAL requests committed in one database transaction (group commit; 1 disables batching)
arg-rdlic-server-run-tls_handshake_timeout_secs = Seconds a client has to finish the TLS handshake
arg-rdlic-server-run-header_timeout_secs = Seconds a client has to send a request's headers, counted from the handshake or the previous answer (also the keep-alive idle timeout)
arg-rdlic-server-run-request_timeout_secs = Seconds one request may take, body upload included (408 after)
arg-rdlic-server-run-max_connections = Open connections at most; when full, the oldest connection without a host certificate or a completed request is closed to make room
about-rdlic-server-init = Initialise the data dir and database without serving; prints the admin token; optionally sets the admin password of the RD Licensing Manager page (read from stdin)
arg-rdlic-server-init-data = Data directory (as for `rdlic server run`)
arg-rdlic-server-init-database = Database (as for `rdlic server run`; default: DATA/rdlic.db)
arg-rdlic-server-init-sans = Extra DNS name or IP address for the TLS certificate (repeatable)
arg-rdlic-server-init-admin_password_stdin = Read the admin password (first line of stdin, at least 8 bytes) and store its salted PBKDF2 hash
about-rdlic-host = Session host (run, enroll)
about-rdlic-host-run = Run the session host (RDP listener with licensing)
arg-rdlic-host-run-dir = Host data directory (host.toml, grace.toml, tls/, licensing/, enrollment files)
arg-rdlic-host-run-listen = Address of the RDP listener
arg-rdlic-host-run-clock_offset_days = Run the host clock this many days ahead (tests, demos)
arg-rdlic-host-run-local_permanent_cals = Permanent CALs of the in-process license server `local`
arg-rdlic-host-run-report_interval_secs = Seconds between two reports to the license server (grace period, refusals, diagnose findings; also sent at start and right after a refusal); 0 turns reports off
about-rdlic-host-enroll = Enroll this host with a license server (one-time token)
arg-rdlic-host-enroll-server = License server URL, e.g. https://ls1.example:8443
arg-rdlic-host-enroll-token = One-time token from `rdlic host token` on the license server
arg-rdlic-host-enroll-dir = Directory for client.crt, client.key (0600), server-ca.crt, enrollment.json
arg-rdlic-host-enroll-name = This host's name (default: the machine's hostname)
arg-rdlic-host-enroll-ca = The server's TLS CA to trust (a copy of the server's DATA/ca.crt)
arg-rdlic-host-enroll-insecure_first_use = Without --ca: trust whichever server answers, and print its CA's SHA-256 fingerprint to compare with the one `rdlic host token` prints on the license server
about-rdlic-host-token = On the license server: make a one-time enrollment token
arg-rdlic-host-token-ttl = Lifetime in seconds
about-rdlic-host-hosts = On the license server: list enrolled hosts
about-rdlic-host-unenroll = On the license server: revoke a host's enrollment
arg-rdlic-host-unenroll-id = Host id (from `rdlic host hosts`)
about-rdlic-host-admin-password = Set the admin account whose credentials a `/admin` connection must send to take an administrative slot (password read from stdin)
arg-rdlic-host-admin-password-dir = Host data directory (host.toml is updated)
arg-rdlic-host-admin-password-user = The admin account's user name, as the RDP client sends it (`user` or `DOMAIN\user`)
about-rdlic-clearinghouse = Vendor side: clearinghouse key, activation certificates, key packs
about-rdlic-clearinghouse-init = Make a new clearinghouse key pair in DIR
arg-rdlic-clearinghouse-init-force = Replace an existing key (every server activated with the old one must be activated again)
about-rdlic-clearinghouse-activate = Sign an activation certificate for a license server's activation request
arg-rdlic-clearinghouse-activate-request = The activation request (made by `rdlic activate --request FILE` on the license server): the server's identity public key in PEM
arg-rdlic-clearinghouse-activate-out = Where to write the activation certificate (default: stdout)
about-rdlic-clearinghouse-keypack = Issue a signed CAL key pack for a license server id
arg-rdlic-clearinghouse-keypack-server_id = License server id (`rdlic activate --request` and `rdlic keypack list` print it)
arg-rdlic-clearinghouse-keypack-cal_type = per-device or per-user
arg-rdlic-clearinghouse-keypack-version = CAL version (2016, 2019, 2022, 2025)
arg-rdlic-clearinghouse-keypack-count = Number of CALs
arg-rdlic-clearinghouse-keypack-program = License program (retail, volume, open-license, enterprise-agreement, service-provider, campus)
arg-rdlic-clearinghouse-keypack-expires_days = Days until the pack expires (default: never)
arg-rdlic-clearinghouse-keypack-out = Where to write the key pack (default: stdout)
about-rdlic-activate = Activate this license server with a clearinghouse certificate
arg-rdlic-activate-certificate = Activation certificate file from the clearinghouse
arg-rdlic-activate-request = Write the activation request (to send to the clearinghouse) to this file instead
about-rdlic-keypack = Install and list CAL key packs
about-rdlic-keypack-install = Install a signed key pack file (installing the same pack twice adds nothing)
arg-rdlic-keypack-install-file = Key pack file from the clearinghouse
about-rdlic-keypack-list = List installed key packs with CALs issued and available
about-rdlic-license = List issued licenses
about-rdlic-license-list = List issued per-device CALs
about-rdlic-revoke = Revoke a per-device CAL
arg-rdlic-revoke-serial = Serial of the CAL (from `rdlic license list`)
about-rdlic-report = Per-user and per-device reports
arg-rdlic-report-kind = per-user or per-device
arg-rdlic-report-format = Output format
arg-rdlic-report-json = Same as --format json
about-rdlic-reg = Query or change host licensing settings with reg.exe syntax
arg-rdlic-reg-dir = Host data directory
arg-rdlic-reg-operation = `query`, `add` or `delete`
arg-rdlic-reg-key = Key path, e.g. "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core"
arg-rdlic-reg-switches = reg.exe switches: /v NAME, /t TYPE, /d DATA, /f
about-rdlic-feature = Enable or disable the session-host role (dism syntax)
arg-rdlic-feature-dir = Host data directory
arg-rdlic-feature-words = `disable`/`enable` and the feature name (or dism's /Disable-feature /FeatureName:NAME)
about-rdlic-grace = Grace period days left (GetGracePeriodDays)
arg-rdlic-grace-dir = Host data directory
arg-rdlic-grace-clock_offset_days = Evaluate with the host clock this many days ahead
about-rdlic-diagnose = Find why connections are refused on this host and print the fix
arg-rdlic-diagnose-dir = Host data directory (host.toml, grace.toml, enrollment files)
arg-rdlic-diagnose-fix = Apply the safe fixes (LicensingMode, SpecifiedLicenseServers) after backing up host.toml
arg-rdlic-diagnose-license_server = License server to put in SpecifiedLicenseServers when it is empty (used by --fix)
arg-rdlic-diagnose-clock_offset_days = The host clock's offset in days (as `rdlic host run --clock-offset-days`)
arg-rdlic-diagnose-host_cal_version = CAL version this host needs
arg-rdlic-diagnose-timeout = Seconds to wait for each license server step
arg-rdlic-diagnose-color = Colour: auto (when stdout is a terminal), always, never
about-rdlic-probe = Report what an RDP server does in its licensing phase
arg-rdlic-probe-target = RDP server, HOST:PORT (port 3389 when omitted)
arg-rdlic-probe-admin = Administrative (console) connection, as `mstsc /admin`: Client Cluster Data with REDIRECTED_SESSIONID_FIELD_VALID and session id 0
arg-rdlic-probe-user = User name for the Client Info PDU and the licence request
arg-rdlic-probe-password = Password for the Client Info PDU (a host takes an --admin connection only from its admin account)
arg-rdlic-probe-client_hostname = Client name (GCC client core data, licence request machine name, hardware id seed)
arg-rdlic-probe-license_dir = CAL store: a licence received is saved there and presented on the next probe
arg-rdlic-probe-timeout = Seconds to wait for each server PDU
arg-rdlic-probe-json = Print the report as JSON
about-rdlic-bench = Benchmarks
about-rdlic-generate = Packaging: man pages and shell completions

## Arguments shared by several commands (a command's own key wins)
arg-data = The license server's data directory (admin.token, ca.crt, server.url are read from it)
arg-dir = Clearinghouse directory
arg-json = Print JSON
arg-server = Server URL (default: the one the running server wrote to DATA/server.url)

# --- license server over DCE/RPC ---
arg-rdlic-probe-license_server = Windows RD license server, HOST[:PORT] (port 135 when omitted): endpoint mapper, ept_map for the licensing interface, bind to it (no licensing call)
# --- end license server over DCE/RPC ---
# --- rdlic offline ---
about-rdlic-offline = Diagnose and repair the registry of an offline Windows disk (its SYSTEM and SOFTWARE hives)
about-rdlic-offline-diagnose = Diagnose the licensing of an offline Windows disk from its registry hives
arg-rdlic-offline-diagnose-path = The mounted Windows volume, or a folder holding the SYSTEM and SOFTWARE hive files
arg-rdlic-offline-diagnose-license_server = License server to name in the fixes when none is configured
arg-rdlic-offline-diagnose-color = Colour: auto (when stdout is a terminal), always, never
about-rdlic-offline-fix = Print, and with --apply make, the safe registry fixes on an offline Windows disk
arg-rdlic-offline-fix-path = The mounted Windows volume, or a folder holding the SYSTEM and SOFTWARE hive files
arg-rdlic-offline-fix-licensing_mode = Set LicensingMode (2 per device, 4 per user) under RCM\Licensing Core
arg-rdlic-offline-fix-license_servers = Write SpecifiedLicenseServers under TermService\Parameters\LicenseServers (repeatable, in order)
arg-rdlic-offline-fix-clear_policy = Delete a Group Policy value that overrides the local ones: LicensingMode, LicenseServers or fDenyTSConnections (repeatable)
arg-rdlic-offline-fix-replay_logs = Replay the transaction logs of a dirty hive first (the old logs are kept aside)
arg-rdlic-offline-fix-apply = Make the changes (without it, only print them)
# --- end rdlic offline ---
# --- cluster ---
about-rdlic-server-export = Seal this server's identity, TLS CA, admin token and clearinghouse key into a bundle for another server of the cluster (passphrase from RDLIC_BUNDLE_PASSPHRASE or the first line of stdin)
arg-rdlic-server-export-data = Data directory of an initialised license server
arg-rdlic-server-export-out = Bundle file to write (0600)
about-rdlic-server-join = Prepare the data dir of another server of the cluster from a bundle made by `rdlic server export`, and check that the database belongs to the same identity; then start it with `rdlic server run`
arg-rdlic-server-join-data = Data directory of the new server (empty or absent)
arg-rdlic-server-join-database = The PostgreSQL database the cluster shares
arg-rdlic-server-join-bundle = Bundle made by `rdlic server export`
about-rdlic-server-list = List the license servers that share this server's database, with their last heartbeat
about-rdlic-server-forget = Take a license server that was stopped for good off the cluster's list (refused while its heartbeat is recent: a running server registers again)
arg-rdlic-server-forget-id = Server id (from `rdlic server list`)
arg-rdlic-server-join-sans = Extra DNS name or IP address for this server's TLS certificate (repeatable)
arg-rdlic-server-run-url = URL hosts and admins reach this server at, recorded in the cluster's server list (default: the listen address)
# --- end cluster ---

# --- cluster bench ---
arg-rdlic-bench-storm-servers = Failover run: this many `rdlic server` processes on one PostgreSQL database (`--database`), `rdlic host run` processes listing them all (`--hosts`), clients connecting continuously; prints the failover gap, the errors and the issuance rate before and after the kill
arg-rdlic-bench-storm-failover_hosts = Failover run: session hosts, host i listing the servers from server i on, so that every server issues at once while all live (default: as many as servers)
arg-rdlic-bench-storm-kill_one_after = Failover run: kill -9 the first server after this many seconds (it is not restarted)
arg-rdlic-bench-storm-after_kill = Failover run: seconds to run after the kill
arg-rdlic-bench-storm-permanent = Failover run: permanent CALs in the key pack
arg-rdlic-bench-storm-database = Failover run: a PostgreSQL server URL (postgres://USER@HOST:PORT/DB); a new database is created on it
# --- end cluster bench ---
# --- Windows registry rules ---
arg-rdlic-diagnose-reg_file = Diagnose a Windows session host from `reg export` files (repeatable; merged in order) instead of this host
# --- end Windows registry rules ---
arg-rdlic-server-run-temporary_cal_retention_days = Delete temporary per-device CALs that expired more than this many days ago (audited; 0 keeps them)
