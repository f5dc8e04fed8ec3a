# rdlic command line, English. Format: a Fluent subset (one `key = text` per line, `{ $name }` placeholders).
# Registry paths and value names, WMI property names, commands and options stay as they are written on Windows.

## Errors, whatever the command
error-line = error: { $message }
cause-chain = { $context }: { $cause }
lang-unknown = unknown language { $lang }: use en or fr
read-file = cannot read { $path }
write-file = cannot write { $path }
create-dir = cannot create { $path }
file-error = { $path }: { $error }
io-not-found = no such file or directory
io-permission-denied = permission denied (run as the user that owns the files)
io-already-exists = the file already exists
io-connection-refused = connection refused (nothing listens at that address)
io-timed-out = the operation timed out
runtime-start = cannot start the async runtime
config-read = cannot read the host configuration { $path }: { $error }
config-write = cannot write the host configuration { $path }: { $error }
config-parse = { $path } is not a valid host configuration: { $error }; correct it or delete it to start from the defaults
config-bad-mode = LicensingMode { $mode } is not supported: use 2 (per device), 4 (per user) or 5 (not configured)
grace-read = cannot read the grace period record { $path }: { $error }
grace-write = cannot write the grace period record { $path }: { $error }
grace-parse = the grace period record { $path } is damaged ({ $error }); delete it to start a new grace period

## The license server's answers to admin commands
client-bad-url = bad server url { $url }: expected https://HOST[:PORT]
client-connect = cannot reach the license server at { $url }: { $reason }; check that `rdlic server run` is up and the address is right
client-timeout = the license server at { $url } did not answer in time: check that it runs and that the network lets its port through
client-api = license server refused ({ $status } { $code }): { $message }
client-decode = unexpected answer from the license server: { $detail } (is the URL that of an rdlic license server?)
admin-data-dir = cannot use the license server data dir { $dir }: start it with `rdlic server run --data { $dir }` (as the user that owns the dir)
api-hint-unauthorized = What to do: use the admin token of this server (DATA/admin.token, read by --data DATA).
api-hint-forbidden = What to do: this host or token is no longer allowed; make a new token with `rdlic host token` and enroll again.
api-hint-token-refused = What to do: the enrollment token is unknown, used or expired; make a new one with `rdlic host token` on the license server.
api-hint-no-license = What to do: install a key pack with free CALs of this type and version (`rdlic keypack install`).
api-hint-revocation-refused = What to do: wait until the date given above, or revoke a CAL of another version.
api-hint-unknown-cal = What to do: check the serial with `rdlic license list`.
api-hint-unknown-host = What to do: check the host id with `rdlic host hosts`.
api-hint-duplicate-host = What to do: give this host another name (`--name`), or unenroll the old one (`rdlic host unenroll`).
api-hint-no-clearinghouse-key = What to do: restart the license server with `--clearinghouse-key clearinghouse.pub` (the vendor's public key).
api-hint-bad-activation = What to do: give the activation certificate file made by `rdlic clearinghouse activate`, unchanged.
api-hint-forged-activation = What to do: this certificate was not signed by the trusted clearinghouse key, or was changed; ask the clearinghouse for a new one.
api-hint-foreign-activation = What to do: this certificate was made for another license server; send this server's request (`rdlic activate --request FILE`) to the clearinghouse.
api-hint-bad-pack = What to do: give the key pack file made by `rdlic clearinghouse keypack`, unchanged.
api-hint-forged-pack = What to do: this key pack was not signed by the trusted clearinghouse key, or was changed; ask the clearinghouse for a new one.
api-hint-foreign-pack = What to do: this key pack was issued to another license server; ask the clearinghouse for a pack for this server id (`rdlic keypack list` prints it).
api-hint-expired-pack = What to do: this key pack has expired; ask the clearinghouse for a new one.
api-hint-pack-conflict = What to do: a different pack with the same id is installed; ask the clearinghouse for a new pack.
api-hint-database-unavailable = What to do: nothing was written; check that the database is up, then try again.
api-hint-internal = What to do: look at the license server's log (`rdlic server run` output) and try again.

## Listings (rdlic keypack list, license list, host hosts)
col-id = id
col-name = name
col-revoked = revoked
col-enrolled-at = enrolled_at
col-type = type
col-version = version
col-program = program
col-total = total
col-issued = issued
col-available = available
col-serial = serial
col-kind = kind
col-status = status
col-client = client
col-user = user
col-expires-at = expires_at
col-url = url
col-alive = alive
col-last-heartbeat = last_heartbeat
col-stopped-at = stopped_at

## rdlic up
up-no-exe = cannot find the rdlic executable
up-cannot-run = cannot run rdlic
up-step-failed = `rdlic { $command }` failed: { $error }
up-path-not-utf8 = the demo directory path { $path } is not UTF-8: choose another --dir
up-server-start = cannot start the license server
up-server-exited = the license server stopped before it listened: run `rdlic server run` by hand to see why
up-no-server-id = `rdlic activate --request` printed no server id
up-no-token = the license server returned no enrollment token
up-enroll = cannot enroll the demo host with the license server
up-banner-server = license server: { $url } (data { $dir })
up-banner-host = session host:   { $addr } (dir { $dir }), LicensingMode 2 per device

## rdlic server run
server-not-started = the license server did not start
server-listening = rdlic license server { $id } listening on { $url }
server-files = admin token: { $dir }/admin.token; TLS CA for hosts: { $dir }/ca.crt
server-manager = RD Licensing Manager: { $url }/admin/
server-stopping = stopping
server-init-password-stdin = cannot read the admin password from stdin
server-init-failed = cannot initialise the license server data dir { $dir }
server-init-done = license server { $id } initialised in { $dir }
server-init-password-set = admin password set: sign in to the RD Licensing Manager (/admin/) with it or with the token above

## rdlic host
host-config-read = reading the host configuration
host-not-started = the session host did not start
host-listening = rdlic host listening on { $addr }
host-connect = connect: xfreerdp /v:{ $addr } /cert:ignore /u:alice /p:secret
host-local-server = the in-process license server (`local`) cannot start
enroll-done = enrolled as host { $host } with license server { $server }
enroll-files = client certificate and key in { $dir }
token-hint = one-time token; on the session host run: rdlic host enroll --server URL --token { $token } --dir DIR
unenroll-done = host { $id } revoked

## rdlic clearinghouse
ch-no-key = cannot read { $path }: run `rdlic clearinghouse init --dir { $dir }` first
ch-not-a-key = { $path } is not a clearinghouse key
ch-key-exists = { $path } already exists: keep it (servers trust it) or pass --force to replace it
ch-keygen = cannot generate an Ed25519 key
ch-init-key = clearinghouse key: { $path } (keep secret)
ch-init-public = public key for license servers: { $path }
ch-init-key-id = key id: { $id }
ch-not-a-request = { $path } is not an activation request (a PEM public key from `rdlic activate --request`)
ch-activated = activation certificate for license server { $id }
ch-bad-server-id = { $id } is not a license server id (`rdlic activate --request` and `rdlic keypack list` print it)
ch-bad-cal-type = --type { $value }: use per-device or per-user
ch-bad-program = --program { $value }: use retail, volume, open-license, enterprise-agreement, service-provider or campus
ch-count-zero = --count must be at least 1
ch-keypack-issued = key pack { $id } : { $count } { $kind } CALs version { $version } for license server { $server }

## rdlic activate, keypack, revoke
activate-server-id = license server id: { $id }
activate-request-written = activation request written to { $path }: send it to the clearinghouse
activate-need-file = give the activation certificate file or --request FILE
activate-done = license server { $id } activated
keypack-installed = key pack { $id } installed
keypack-already-installed = key pack { $id } was already installed: nothing added
revoke-done = CAL { $serial } revoked; revocations still possible now for its version: { $left }

## rdlic reg (reg.exe's own messages)
operation-completed = The operation completed successfully.
reg-invalid-key = ERROR: Invalid key name: { $key } (the host's settings are under HKLM)
reg-key-not-found = ERROR: The system was unable to find the specified registry key or value: { $key }
reg-value-not-found = ERROR: The system was unable to find the specified registry key or value.
reg-bad-dword = ERROR: Invalid syntax. /d { $data } is not a REG_DWORD value
reg-bad-type = ERROR: { $name } is { $expected }; /t { $given } is not accepted
reg-needs-value = ERROR: Invalid syntax. { $switch } needs a value
reg-unknown-switch = ERROR: Invalid syntax. Unknown switch { $switch }
reg-dir-needs-value = --dir needs a directory
reg-add-needs-value-name = ERROR: Invalid syntax. reg add needs /v NAME
reg-unknown-operation = ERROR: Invalid syntax. Unknown operation { $operation }: use query, add or delete
reg-restart-note = note: the session host reads this value at its next start (restart `rdlic host run`)

## rdlic feature (dism's own messages)
feature-enabling = Enabling feature(s)
feature-disabling = Disabling feature(s)
feature-unknown = Error: 0x800f080c Feature name { $name } is unknown: use Remote-Desktop-Services or Licensing
feature-usage = usage: rdlic feature disable|enable Remote-Desktop-Services|Licensing
feature-admin-mode = At its next start the host allows 2 simultaneous administrative connections and does no licensing.
feature-restart-note = note: restart the session host (`rdlic host run`) for the change to take effect

## rdlic grace
grace-running = the grace period is running
grace-expired = the grace period is over (RCM event 1128)
grace-ended-by-cal = the grace period ended with the first permanent CAL
grace-not-started = the host has not started yet: the grace period starts at its first start
grace-note = ({ $note })

## rdlic diagnose
diagnose-failed = rdlic diagnose: { $error }
diagnose-fix-failed = rdlic diagnose --fix: { $error }

## clap: help layout and argument errors
clap-usage-heading = Usage:
clap-commands-heading = Commands
clap-command-value = COMMAND
clap-default = [default: { $value }]
clap-env = [env: { $name }]
clap-possible-values = [possible values: { $values }]
clap-help = Print help
clap-help-short = Print help (see more with '--help')
clap-help-long = Print help (see a summary with '-h')
clap-version = Print version
clap-help-subcommand = Print this message or the help of the given subcommand(s)
clap-help-subcommand-arg = Print help for the subcommand(s)
clap-error-missing = the following required arguments were not provided: { $args }
clap-error-unknown-argument = unexpected argument { $arg } found
clap-error-unknown-subcommand = unrecognized subcommand { $name }
clap-error-missing-subcommand = a subcommand is required
clap-error-conflict = the argument { $arg } cannot be used with { $other }
clap-error-invalid-value = invalid value { $value } for { $arg }
clap-error-invalid-value-among = invalid value { $value } for { $arg }; possible values: { $values }
clap-error-invalid-value-detail = invalid value { $value } for { $arg }: { $detail }
clap-expected-integer = a whole number is expected
clap-expected-number = a number is expected
clap-expected-address = an address such as 127.0.0.1:8443 is expected
clap-error-more = For more information, try '--help'.

# --- packaging (rdlic generate) ---
man-manual = rdlic manual
man-heading-name = Name
generate-write-failed = cannot write { $path }
# --- end packaging ---
# --- hostile networks ---
enroll-needs-ca = rdlic host enroll needs --ca FILE (a copy of the license server's DATA/ca.crt), so that the host trusts that server and no impostor; or pass --insecure-first-use and compare the fingerprint it prints with the one `rdlic host token` prints on the license server
enroll-fingerprint-failed = cannot read the CA certificate that the license server sent
enroll-insecure-fingerprint = trusted on first use: the license server's CA has the SHA-256 fingerprint { $fingerprint }; compare it with the one `rdlic host token` (or `rdlic server run`) prints on the license server, and if they differ delete { $dir } and enroll again with --ca
token-ca-fingerprint = license server CA SHA-256 fingerprint (what `rdlic host enroll --insecure-first-use` must print): { $fingerprint } ({ $path })
server-ca-fingerprint = TLS CA SHA-256 fingerprint: { $fingerprint }
clock-offset-refused = --clock-offset-days { $days } (or RDLIC_CLOCK_OFFSET_DAYS) moves the host clock, which decides the grace period: it is for tests and demos only; set RDLIC_DEMO=1 to use it on a demo host, or leave it at 0
host-admin-password-stdin = cannot read the password from stdin
host-admin-password-bad = cannot set the admin password: { $reason }
host-admin-password-set = admin account { $user } set in { $path }; restart `rdlic host run` for it to take effect. A `/admin` connection takes an administrative slot only with this user and password
# --- end hostile networks ---
# --- rdlic offline ---
offline-no-hives = no registry hives under { $path }: give the mounted Windows volume (with Windows/System32/config) or a folder holding the SYSTEM hive file
offline-read-failed = cannot read { $path }
offline-bad-hive = { $path } is not a usable registry hive: { $error }; nothing was written
offline-no-software = no SOFTWARE hive in { $dir }: the role, the licensing role and Group Policy values cannot be read
offline-dirty-replayed = { $path } has changes pending in its transaction logs: diagnosed as the next boot will see it (logs replayed in memory; `rdlic offline fix --replay-logs --apply` writes them)
offline-dirty-no-logs = { $path } is dirty (its sequence numbers differ) but its .LOG1/.LOG2 logs are missing or unreadable: values may be older than Windows last saw them
offline-select-differs = SYSTEM\Select: Current is ControlSet{ $current } but Default is ControlSet{ $default }; the values read are Default's, the control set of the next boot (the last boot used Last Known Good or another set)
offline-no-select = SYSTEM\Select is missing: CurrentControlSet cannot be resolved, so SYSTEM values cannot be read
offline-control-set = Control set read: ControlSet{ $set } (SYSTEM\Select Default; Current = { $current })
offline-after-boot = After the next boot: check with `reg query` (or `rdlic diagnose --reg-file` on a `reg export` file), and connect again; the role itself can only be removed online or with dism from a Windows rescue machine.
offline-bad-mode = LicensingMode { $mode } is not a licensing mode: use 2 (per device), 4 (per user) or 5 (not configured)
offline-bad-policy = { $name } is not a policy value that rdlic clears; choose among { $known }
offline-nothing-asked = nothing to change: pass --licensing-mode, --license-server or --clear-policy (see `rdlic offline diagnose { $path }` for what to fix)
offline-dism = The role cannot be removed by registry edits (Windows' component store holds it): from a Windows rescue machine where the disk is { $drive }, run `dism /Image:{ $drive }\ /Disable-Feature /FeatureName:Remote-Desktop-Services`
offline-dirty-refused = { $path } has changes pending in its .LOG1/.LOG2 transaction logs; writing it now would lose them (hivex would). Nothing was written. Run again with --replay-logs to replay them first (the old logs are kept aside)
offline-replayed = { $path }: { $entries } log entries replayed
offline-no-control-set = { $key } is under CurrentControlSet, and SYSTEM\Select does not say which control set that is; nothing was written
offline-hive-missing = the { $hive } hive is not in { $dir }; nothing was written
offline-plan-line = { $hive }\{ $key } { $name }: { $before } -> { $after }
offline-dry-run = Nothing written: run again with --apply to make these changes (each changed hive is backed up beside it first).
offline-written = written { $path } (backup: { $backup })
offline-log-aside = transaction log { $path } replayed and kept aside as { $aside }
# --- end rdlic offline ---
# --- cluster ---
bundle-passphrase-stdin = cannot read the bundle passphrase from stdin (or set RDLIC_BUNDLE_PASSPHRASE)
bundle-export-failed = cannot export the cluster bundle of { $dir }
bundle-exported = cluster bundle written to { $path } (0600): copy it to the new server with its passphrase kept apart, then run `rdlic server join` there
bundle-join-needs-postgres = a cluster shares one PostgreSQL database: give --database postgres://USER@HOST/DB
bundle-join-failed = cannot unpack the cluster bundle into { $dir }
bundle-joined = this server serves license server { $id } from { $dir }: start it with `rdlic server run --data DIR --database URL --listen ADDR --url URL`
server-forgotten = license server { $id } ({ $url }) is off the cluster's list; remove it from the hosts' SpecifiedLicenseServers and from the DNS name if it was there
# --- end cluster ---

# --- cluster bench ---
bench-failover-needs-database = --servers needs a PostgreSQL server: give --database postgres://USER@HOST:PORT/DB (a new database is created on it)
# --- end cluster bench ---
# --- Windows registry rules: reg export files, reg delete, Group Policy ---
diagnose-reg-file-invalid = rdlic diagnose --reg-file: { $file }: { $error }
diagnose-reg-file-no-fix = rdlic diagnose --reg-file: --fix does not apply to a reg export file; run the printed reg commands on the machine (or rdlic offline fix on its disk)
reg-policy-shadows = note: Group Policy sets { $policy_name } = { $policy } under { $key }: it wins, so this { $name } has no effect until the policy value is removed (rdlic reg delete "{ $key }" /v { $policy_name } /f)
reg-delete-needs-value-name = ERROR: Invalid syntax. reg delete needs /v NAME (only the policy key can be deleted whole)
reg-delete-install-state = ERROR: InstallState cannot be deleted: use rdlic feature enable|disable
# --- end Windows registry rules ---
