#!/usr/bin/env python3
"""Writes the `.reg` fixtures of `rdlic diagnose --reg-file` exactly as `reg export` writes them: UTF-16LE with a
byte-order mark, CRLF line ends, a blank line after the header and after each key, REG_DWORD as dword:XXXXXXXX,
strings with \\ and " escaped, and hex(N) data wrapped with a backslash so that no line passes 80 columns
(another byte is put on a line only while the line, its comma included, stays within 79 characters; continuation
lines start with two spaces).

Run it from this folder (`python3 make_fixtures.py`); the .reg files are committed, so a change shows in the diff.
Each fixture is one Windows Server session host: the keys an administrator exports through the serial console
(`reg export "HKLM\\..." file.reg`), concatenated in one file as regedit writes several keys.
"""
import os

HKLM = "HKEY_LOCAL_MACHINE"
CCS = HKLM + r"\SYSTEM\CurrentControlSet"
TS = CCS + r"\Control\Terminal Server"
POLICY = HKLM + r"\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
CACHE = HKLM + r"\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache"


def dword(v):
    return "dword:%08x" % v


def sz(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def utf16z(text):
    return (text + "\0").encode("utf-16-le")


def multi_sz(strings):
    return ("hex(7)", b"".join(utf16z(s) for s in strings) + b"\0\0")


def expand_sz(text):
    return ("hex(2)", utf16z(text))


def binary(data):
    return ("hex", data)


def value_line(name, data):
    head = ("@" if name == "" else sz(name)) + "="
    if isinstance(data, str):
        return [head + data]
    kind, raw = data
    lines, line = [], head + kind + ":"
    for i, byte in enumerate(raw):
        item = "%02x" % byte + ("," if i + 1 < len(raw) else "")
        if len(line) + 3 > 79:
            lines.append(line + "\\")
            line = "  "
        line += item
    lines.append(line)
    return lines


def write(name, keys):
    out = ["Windows Registry Editor Version 5.00", ""]
    for key, values in keys:
        out.append("[" + key + "]")
        for value_name, data in values:
            out.extend(value_line(value_name, data))
        out.append("")
    text = "\r\n".join(out) + "\r\n"
    with open(name, "wb") as f:
        f.write(b"\xff\xfe" + text.encode("utf-16-le"))


def session_host(mode=None, servers=None, servers_under_parameters=False, role=1, policy=None, deny=0,
                 umrdp_start=3, termservice_start=3, licensing_role=False, grace=True, port=3389):
    """The exported keys of a Windows Server 2022 session host."""
    keys = []
    if policy is not None:
        keys.append((POLICY, policy))
    keys.append((TS, [("AllowRemoteRPC", dword(0)), ("fDenyTSConnections", dword(deny)),
                      ("fSingleSessionPerUser", dword(1)), ("ProductVersion", sz("5.1"))]))
    core = [] if mode is None else [("LicensingMode", dword(mode))]
    keys.append((TS + r"\RCM\Licensing Core", core))
    if grace:
        keys.append((TS + r"\RCM\GracePeriod", [("L$RTMTIMEBOMB_1320153D-8DA3-4e8e-B27B-0D888223A588",
                                                  binary(bytes.fromhex("00a0d8f7e2b3da01")))]))
    keys.append((TS + r"\WinStations\RDP-Tcp", [("PortNumber", dword(port)), ("SecurityLayer", dword(2)),
                                                ("UserAuthentication", dword(1))]))
    keys.append((CCS + r"\Services\SessionEnv", [("Start", dword(3)), ("Type", dword(0x20))]))
    keys.append((CCS + r"\Services\TermService", [
        ("DependOnService", multi_sz(["RPCSS"])),
        ("ImagePath", expand_sz(r"%SystemRoot%\System32\svchost.exe -k NetworkService")),
        ("ObjectName", sz(r"NT Authority\NetworkService")),
        ("Start", dword(termservice_start)), ("Type", dword(0x20))]))
    parameters = [("ServiceDll", expand_sz(r"%SystemRoot%\System32\termsrv.dll"))]
    if servers is not None and servers_under_parameters:
        parameters.append(("SpecifiedLicenseServers", multi_sz(servers)))
    keys.append((CCS + r"\Services\TermService\Parameters", parameters))
    if servers is not None and not servers_under_parameters:
        keys.append((CCS + r"\Services\TermService\Parameters\LicenseServers",
                     [("SpecifiedLicenseServers", multi_sz(servers))]))
    if licensing_role:
        keys.append((CCS + r"\Services\TermServLicensing", [("Start", dword(2)), ("Type", dword(0x20))]))
    keys.append((CCS + r"\Services\UmRdpService", [("Start", dword(umrdp_start)), ("Type", dword(0x20))]))
    keys.append((CACHE + r"\RDS-RD-Server", [("InstallState", dword(role))]))
    keys.append((CACHE + r"\RDS-Licensing", [("InstallState", dword(1 if licensing_role else 0))]))
    return keys


SERVERS = ["ls1.contoso.com", "ls2.contoso.com"]
FIXTURES = {
    # Cause 1: never a license server, mode not configured (the article's first cause).
    "cause1-no-license-server.reg": session_host(mode=5),
    # Cause 4: license servers named, but the licensing mode was never set (CALs cannot be used).
    "cause4-mode-not-configured.reg": session_host(mode=5, servers=SERVERS),
    # Causes 2, 3 and 5 happen on the license server: the session host's registry is fine (mode and servers
    # set, here under the key the article's reg line names); diagnose says so and names the servers to check.
    "configured-servers-under-parameters.reg": session_host(mode=4, servers=["ls1.contoso.com"],
                                                            servers_under_parameters=True),
    # The article's workaround: the role removed with dism (remote administration, two connections).
    "role-removed.reg": session_host(mode=5, role=0),
    # The administrator ran the article's reg add (LicensingMode 4, a server), but Group Policy sets per device
    # and another license server: the policy wins.
    "policy-override.reg": session_host(mode=4, servers=["ls-local.contoso.com"],
                                        policy=[("LicenseServers", sz("ls1.contoso.com,ls2.contoso.com")),
                                                ("LicensingMode", dword(2))]),
    # Not licensing: Remote Desktop refused by policy, UmRdpService disabled, a custom port; the machine is also
    # the license server.
    "connections-denied.reg": session_host(mode=2, servers=["rdsh01.contoso.com"], deny=0,
                                           policy=[("fDenyTSConnections", dword(1))], umrdp_start=4,
                                           licensing_role=True, port=3390, grace=False),
}

if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    for name, keys in FIXTURES.items():
        write(name, keys)
        print(name)
