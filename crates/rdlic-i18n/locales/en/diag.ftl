# rdlic-diag messages, English. Format: a Fluent subset (one `key = text` per line, `{ $name }` placeholders).

word-yes = yes
word-no = no
errinfo-name = { $name } ({ $code })

## Error Alert dwErrorCode (MS-RDPBCGR 2.2.1.12.1.3)
alert-0x1 = the client rejected the server certificate
alert-0x2 = the client has no licence to present
alert-0x3 = a message authentication code did not match
alert-0x4 = the client's licence was issued for another scope
alert-0x6 = no license server could provide a licence
alert-0x7 = the client is licensed (or needs no licence): the connection goes on
alert-0x8 = the client could not be licensed (no CAL available, or an invalid licence)
alert-0xb = the product id is not valid
alert-0xc = a licensing message had an invalid length
alert-unknown = error code { $code } is not in the specification

## dwStateTransition
st-0x1 = the client must end the connection
st-0x2 = the connection continues
st-0x3 = licensing restarts from the beginning
st-0x4 = the client must resend its last message
st-unknown = state transition { $code } is not in the specification

## Set Error Info, licensing range (MS-RDPBCGR 2.2.5.1.1): meaning, then what the user sees
errinfo-0x100 = an internal error occurred in the licensing component of the remote computer
errinfo-0x101 = no Remote Desktop license server could be found to provide a licence
errinfo-0x102 = there are no client access licences available for the remote computer
errinfo-0x103 = the remote computer received an invalid licensing message from the client
errinfo-0x104 = the client access licence stored by the client has been modified
errinfo-0x105 = the client access licence stored by the client is in an invalid format
errinfo-0x106 = network problems ended the licensing protocol
errinfo-0x107 = the client ended the licensing protocol prematurely
errinfo-0x108 = a licensing message was incorrectly encrypted
errinfo-0x109 = the client access licence stored by the client could not be upgraded or renewed
errinfo-0x10a = the remote computer is not licensed to accept remote connections
errinfo-unknown = error info { $code } (not a licensing code)
errinfo-user-0x100 = The remote session was disconnected because of an error in the licensing protocol.
errinfo-user-0x101 = The remote session was disconnected because there are no Remote Desktop License Servers available to provide a license.
errinfo-user-0x102 = The remote session was disconnected because there are no Remote Desktop client access licenses available for this computer.
errinfo-user-0x103 = The remote session was disconnected because the remote computer received an invalid licensing message from this computer.
errinfo-user-0x104 = The remote session was disconnected because the Remote Desktop client access license stored on this computer has been modified.
errinfo-user-0x105 = The remote session was disconnected because the Remote Desktop client access license stored on this computer is in an invalid format.
errinfo-user-0x106 = The remote session was disconnected because network problems caused the licensing protocol to be terminated.
errinfo-user-0x107 = The remote session was disconnected because the client ended the licensing protocol prematurely.
errinfo-user-0x108 = The remote session was disconnected because a licensing message was incorrectly encrypted.
errinfo-user-0x109 = The remote session was disconnected because the Remote Desktop client access license stored on this computer could not be upgraded or renewed.
errinfo-user-0x10a = The remote session was disconnected because the remote computer is not licensed to accept remote connections.

## Probe report
probe-title = rdlic probe { $target } ({ $address })
probe-client = Client name: { $client }   user: { $user }   administrative (/admin): { $admin }
probe-security = Security protocol: { $protocol } { $tls }
probe-phases = Connection phases:
phase-tcp-connect = TCP connection
phase-connection-initiation = connection initiation (X.224)
phase-security-upgrade = TLS handshake
phase-credssp = CredSSP
phase-basic-settings-exchange = basic settings exchange (MCS/GCC)
phase-channel-connection = channel connection
phase-secure-settings-exchange = secure settings exchange (Client Info)
phase-auto-detection = connect-time auto-detection
phase-licensing = licensing
phase-after-licensing = after licensing
phase-other = other
phase-total = total
probe-license-request = License Request: product { $product } of "{ $company }", version { $version }, scope { $scopes }; { $certificate } certificate ({ $bits } bits), preamble { $preamble }
probe-no-license-request = License Request: none (the server ended licensing at once, as for an administrative connection)
cert-proprietary = proprietary
cert-x509 = X.509
cert-none = no
probe-presented = Presented the stored licence { $path } (Client License Info)
probe-errinfo = Set Error Info: { $name } ({ $code }): { $meaning }
probe-user-sees = The user sees: "{ $message }"
probe-after = After licensing: { $what }
after-demand-active = Demand Active: the client goes on to the capabilities exchange
after-disconnected = the server disconnected
after-timeout = nothing decisive before the timeout
after-not-reached = not reached
probe-store-error = Could not store the licence: { $error }
probe-failure = Probe stopped: { $error }
probe-verdict-admitted = Verdict: this client gets past licensing.
probe-verdict-refused = Verdict: this client is NOT admitted.
licensing-valid-client = Licensing: valid client, no licence issued (STATUS_VALID_CLIENT, ST_NO_TRANSITION)
licensing-new-license = Licensing: new licence issued (Server New License): product { $product } of "{ $company }", scope { $scope }, version { $version }, { $size } bytes
licensing-upgrade-license = Licensing: licence upgraded or renewed (Server Upgrade License): product { $product } of "{ $company }", scope { $scope }, version { $version }, { $size } bytes
cal-kind-temporary = temporary
cal-kind-permanent = permanent
licensing-cal = CAL: { $kind }, valid from { $from } until { $until }; issued by { $issuer } ({ $issuer_scope }); product { $product } version { $product_version }; client { $machine }, user { $user }
licensing-cal-undecodable = CAL: cannot be decoded ({ $error })
licensing-stored = Licence stored in { $path }
licensing-refused = Licensing: REFUSED with Error Alert { $name } ({ $code }): { $meaning }; { $st_name }: { $st_meaning }
licensing-alert = Licensing: Error Alert { $name } ({ $code }): { $meaning }; { $st_name }: { $st_meaning }
licensing-protocol-error = Licensing: the server broke the protocol: { $detail }
licensing-skipped = Licensing: the server sent no licensing message
licensing-incomplete = Licensing: did not finish

## Diagnose: checks
check-role = RD Session Host role
check-mode = Licensing mode
check-servers = License servers
check-reachable = Reachable
check-api = TLS and API
check-enrolled = Host enrolled
check-activated = Activated
check-cals = CALs
check-grace = Grace period
check-refusals = Recent refusals

## Causes: the article's five, then others
cause-no-license-server = Cause 1: there never was a Remote Desktop license server and the grace period is over (or will be).
cause-not-activated = Cause 2: a Remote Desktop license server is installed but was never activated.
cause-no-cals = Cause 3: no client access licences (CALs) were installed on the license server.
cause-cals-misconfigured = Cause 4: a license server with CALs exists, but the host is not configured to use them.
cause-server-problem = Cause 5: other problems on the license server keep it from providing licences.
cause-host-not-enrolled = Another cause: this host is not enrolled with the license server.
cause-invalid-mode = Another cause: LicensingMode holds an unsupported value.

## Evidence
ev-role-not-installed = Remote-Desktop-Services is disabled: remote administration mode, at most 2 simultaneous connections, no licensing.
ev-role-installed = RDS-RD-Server InstallState = 1
ev-mode-ok-2 = LicensingMode = { $mode } (per device)
ev-mode-ok-4 = LicensingMode = { $mode } (per user)
ev-mode-not-configured-grace = LicensingMode = 5 (not configured): connections are admitted only during the grace period.
ev-mode-not-configured-over = LicensingMode = 5 (not configured) and the grace period is over: every connection is refused.
ev-mode-invalid = LicensingMode = { $mode } is not a supported value (2 per device, 4 per user).
ev-no-servers-grace = SpecifiedLicenseServers is empty: once the grace period ends, connections will be refused.
ev-no-servers-over = SpecifiedLicenseServers is empty and the grace period is over: connections are refused with ERRINFO_LICENSE_NO_LICENSE_SERVER.
ev-servers = SpecifiedLicenseServers = { $servers }
ev-in-process = in-process demo license server (local)
ev-tcp-failed = cannot open a TCP connection to { $server }: { $error }
ev-tcp-ok = TCP connection to { $server } in { $ms } ms
ev-api-ok = { $server } answers over TLS (server id { $id })
ev-api-failed = { $server } accepts TCP but its API does not answer: { $error }
ev-enrolled = { $server } accepts this host's certificate
ev-not-enrolled = this host is not enrolled with { $server }: { $detail }
ev-status-failed = the status call to { $server } failed: { $error }
ev-database = the database of { $server } does not answer
ev-activated = { $server } is activated
ev-not-activated = { $server } was never activated: it issues no permanent CALs and no per-user CALs.
ev-not-activated-temporary = { $server } was never activated: it issues only temporary per-device CALs (90 days).
ev-no-cals = { $server } has no CALs installed.
ev-cals-mismatch = { $server } has no { $type } CALs of version { $version } or later; installed (free/installed): { $installed }
ev-no-cals-per-user = { $server } has no CALs installed: per-user CALs are over-allocated (clients get in, but the licence terms are not met).
ev-no-cals-temporary = { $server } has no CALs installed: it issues only temporary per-device CALs (90 days).
ev-cals-mismatch-per-user = { $server } has no { $type } CALs of version { $version } or later, so per-user CALs are over-allocated; installed (free/installed): { $installed }
ev-cals-exhausted = every { $installed } CAL of { $server } is issued.
ev-cals-ok = { $server } has CALs for this host (version >= { $version }, free/installed): { $installed }
ev-grace-not-started = the host has not started yet: its grace period ({ $days } days) starts with it.
ev-grace-running = { $days } days of grace period left.
ev-grace-expired = the grace period is over and no license server can license clients.
ev-grace-expired-served = the grace period is over; a license server licenses clients.
ev-grace-ended-by-cal = the grace period ended with the first permanent CAL.
ev-no-log = the host keeps no decision log to read.
ev-no-refusals = no refusals in the host's decision log.
ev-refusals = { $count } recent refusals; the latest: { $last }

## Fixes
fix-mode = Set LicensingMode to { $mode } ({ $name }), then restart the host.
fix-mode-2 = Set LicensingMode to { $mode } (per device), then restart the host.
fix-mode-4 = Set LicensingMode to { $mode } (per user), then restart the host.
fix-servers = Name the license server in SpecifiedLicenseServers, then restart the host.
fix-install-server = If there is no license server, install one: run it, activate it (rdlic activate) and install CALs (rdlic keypack install).
fix-disable-role = If you have no CALs, remove the RD Session Host role: RDP goes back to 2 simultaneous administrative connections.
fix-activate = Activate { $server } with its clearinghouse certificate (on the license server).
fix-keypack = Install a key pack of { $type } CALs of version { $version } or later on { $server }.
fix-reach = Start the license server { $server }, open its port, or correct SpecifiedLicenseServers.
fix-enroll = Enroll this host with { $server } (token from `rdlic host token` on the license server), then restart the host.

## Diagnose output
diag-title = rdlic diagnose: { $dir }
sev-ok = OK
sev-info = INFO
sev-warning = WARNING
sev-error = ERROR
label-fix = fix
label-restart = (restart needed)
summary-ok = Connections to this host can be licensed.
summary-refused = Connections to this host cannot be licensed.
summary-causes = Causes found:
fix-backup = Configuration saved to { $path }
fix-applied = Changed: { $change }
fix-restart = Restart the host (rdlic host run) for the changes to take effect.
fix-nothing = No safe fix to apply.
fix-manual = Still to do by hand:

# --- license server over DCE/RPC (rdlic probe --license-server, diagnose of Windows license servers) ---
rpc-probe-title = rdlic probe --license-server { $target } (endpoint mapper { $address })
rpc-probe-ept-map = Endpoint mapper: ept_map for the Terminal Server Licensing interface (3d267954-eeb7-11d1-b94e-00c04fa3080d v1.0, ncacn_ip_tcp): status { $status }, { $count } tower(s)
rpc-probe-tower = tower: { $protocol } port { $port } address { $ip }
rpc-verdict = Verdict: { $text }
rpc-verdict-name-not-resolved = License server unreachable: the name does not resolve ({ $error }). Check the name in SpecifiedLicenseServers and the DNS.
rpc-verdict-epm-closed = License server unreachable: port 135 is closed, the connection was refused ({ $error }). Nothing listens there: the server is down, or the name is not the license server's.
rpc-verdict-epm-filtered = License server unreachable: port 135 is filtered, no answer within { $seconds } s. A firewall drops the connection: open TCP 135 from this host to the license server.
rpc-verdict-epm-failed = License server unreachable: something answers on port 135, but not a usable endpoint mapper ({ $error }).
rpc-verdict-not-registered = License server unreachable: the endpoint mapper answers, but the licensing interface is not registered over TCP (status { $status }, { $count } tower(s)). `telnet <server> 135` passes here and proves nothing: the Remote Desktop Licensing service (TermServLicensing) is not running or not installed on that server, or it serves RPC over named pipes only (TCP 445).
rpc-verdict-port-closed = License server unreachable: the licensing interface is registered on { $address }, but that port refuses connections ({ $error }): the service stopped, or a firewall rejects the dynamic RPC ports.
rpc-verdict-port-filtered = License server unreachable: the licensing interface is registered on { $address }, but that port does not answer ({ $error }): a firewall lets 135 through but not the dynamic RPC ports. Open TCP 49152-65535 (or at least this port) from this host to the license server.
rpc-verdict-interface-failed = License server unreachable: the licensing port { $address } accepted the connection, but the bind failed ({ $error }).
rpc-verdict-reachable = the licensing interface accepted the bind on { $address }: the license server is reachable over RPC.
rpc-verdict-bind-nak = License server unreachable: the licensing port { $address } refused the bind (bind_nak, reason { $reason }).
rpc-verdict-context-rejected = License server unreachable: the server on { $address } rejected the licensing interface in its bind_ack (reason { $reason }): the port speaks RPC but does not serve that interface.
rpc-proves-reachable = What a bind proves: the license server's RPC interface is reachable from this host. Not that the server is activated, nor that it holds CALs of the right type and version: check those on the license server (RD Licensing Manager).
rpc-means-epm = What this means: this host cannot use the license server's endpoint mapper, so it cannot find the licensing service (license server unreachable).
rpc-means-interface = What this means: the endpoint mapper answers, so `telnet <server> 135` would pass, yet this host cannot reach the licensing service (license server unreachable).
check-rpc = License server RPC
ev-rpc-reachable = { $server }: the licensing interface accepted an RPC bind on { $address } (reachable; activation and CALs cannot be checked from here)
fix-rpc-firewall = Between this host and { $server }, open TCP 135 and the dynamic RPC range TCP 49152-65535 (or TCP 445 for RPC over named pipes), and check that the Remote Desktop Licensing service runs on { $server }.
fix-rpc-name = Correct the name { $server } in SpecifiedLicenseServers, or its DNS record.
# --- end license server over DCE/RPC ---
# --- cluster ---
ev-answered-by = the last { $count } licensing attempts were answered by: { $servers }
ev-failover = { $count } of them failed over to another license server; the latest ({ $client }): { $attempts }
# --- end cluster ---
# --- Windows registry rules: Group Policy precedence, reg export files, offline disks ---
check-policy = Group Policy
check-connections = Remote Desktop connections
check-port = RDP port
check-services = Services
check-licensing-role = RD Licensing role
diag-title-registry = rdlic diagnose — Windows registry from { $source }
ev-policy-mode = LicensingMode = { $mode } is set by Group Policy ({ $key }); the local value under Licensing Core is the same or absent.
ev-policy-mode-shadows = LicensingMode = { $mode } comes from Group Policy ({ $key }) and wins over the local value { $local } under { $local_key }: a reg add of the local value has no effect while the policy is set.
ev-policy-servers = LicenseServers = { $servers } is set by Group Policy ({ $key }); SpecifiedLicenseServers is the same or absent.
ev-policy-servers-shadows = LicenseServers = { $servers } comes from Group Policy ({ $key }) and wins over SpecifiedLicenseServers = { $local } under { $local_key }: a reg add of the local value has no effect while the policy is set.
ev-servers-under = SpecifiedLicenseServers = { $servers } (under { $key })
ev-servers-under-parameters = SpecifiedLicenseServers = { $servers }, found under { $key }, the key the article's reg line names; Windows' Remote Desktop Services console keeps it under its LicenseServers subkey.
ev-mode-not-configured-unknown = LicensingMode = 5 (not configured): connections are refused once the grace period is over (the registry does not show how much of it is left).
ev-no-servers-unknown = no license server is configured: connections are refused with ERRINFO_LICENSE_NO_LICENSE_SERVER once the grace period is over (the registry does not show how much of it is left).
ev-server-not-checked = { $server }: not contacted (diagnosis of a registry); check it from a machine that reaches it.
ev-grace-key-present = the grace-period key (RCM\GracePeriod) exists: the grace period has started. Its end is protected data: on the machine, GetGracePeriodDays (Win32_TerminalServiceSetting) tells the days left. Microsoft does not recommend resetting it.
ev-grace-key-absent = no grace-period key (RCM\GracePeriod): the grace period has not started on this system.
ev-role-unknown = the ServerComponentCache key is not in the registry read: the RD Session Host role is taken as installed (the article's message only appears with it).
ev-role-state = RDS-RD-Server InstallState = { $state }
ev-licensing-role = this machine is also a license server (Services\TermServLicensing exists{ $state }).
ev-licensing-role-absent = no RD Licensing role on this machine (no Services\TermServLicensing key): the license servers are other machines.
ev-connections-allowed = fDenyTSConnections = 0 (under { $key }): Remote Desktop connections are allowed.
ev-connections-denied = fDenyTSConnections = 1 (under { $key }): Remote Desktop connections are refused before licensing.
ev-connections-denied-policy = fDenyTSConnections = 1 from Group Policy ({ $key }) wins over the local value { $local }: Remote Desktop connections are refused, and a reg add of the local value has no effect.
ev-port = RDP-Tcp listens on port { $port }.
ev-port-custom = RDP-Tcp listens on port { $port }, not 3389: clients must connect to HOST:{ $port } and the firewall must allow it.
ev-service-start = { $service } Start = { $start } ({ $name }).
ev-service-disabled-termservice = TermService Start = 4 (disabled): Remote Desktop Services does not start; nobody can connect.
ev-service-disabled-sessionenv = SessionEnv Start = 4 (disabled): Remote Desktop Configuration does not start; sessions may fail to configure.
ev-service-disabled-umrdpservice = UmRdpService Start = 4 (disabled): the UserMode Port Redirector does not start; redirected drives, printers and ports fail, and some clients cannot connect.
fix-policy-mode = Change the Group Policy "Set the Remote Desktop licensing mode" to { $name } (gpedit.msc: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Licensing), or the domain GPO that sets it, then run gpupdate /force; the registry value it writes:
fix-policy-servers = Change the Group Policy "Use the specified Remote Desktop license servers" (gpedit.msc: Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Licensing), or the domain GPO that sets it, then run gpupdate /force; the registry value it writes:
fix-policy-remove = Or set that policy to Not Configured so that the local value applies (removing the value by hand lasts until a domain GPO writes it again):
fix-policy-connections = Set the Group Policy "Allow users to connect remotely by using Remote Desktop Services" (… > Remote Desktop Session Host > Connections) to Enabled or Not Configured, then run gpupdate /force; or remove the value:
fix-connections = Allow Remote Desktop connections (the Azure portal's "Run command" or the serial console can run it):
fix-service-start = Set the service back to manual start (3), as Windows installs it, then restart the machine:
fix-mode-windows = Set LicensingMode to { $mode } ({ $name }), as the article says, then restart Remote Desktop Services (or the machine):
fix-servers-windows = Name the license server in SpecifiedLicenseServers (RD Licensing Diagnoser then finds it), then restart Remote Desktop Services:
ev-servers-policy = LicenseServers = { $servers } (Group Policy, under { $key })
label-offline = offline
# --- end Windows registry rules ---
