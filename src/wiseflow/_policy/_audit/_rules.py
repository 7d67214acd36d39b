"""The audit's tables: modules, calls, telling strings, and the hint for each rule.

Severities say how sure the audit is that a statement is hostile, not how powerful it is:
a literal ``git`` command is a capability (low, or information once the manifest declares
``subprocess``), base64 fed to ``exec`` is a behaviour no plugin needs (critical).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, NamedTuple, final

__all__ = [
    "CALLS",
    "CAPABILITY",
    "HINTS",
    "MODULES",
    "PATTERNS",
    "RANK",
    "SENSITIVE_NAMES",
    "SEVERITIES",
    "Pattern",
    "Rule",
    "matching",
    "raise_to",
]

SEVERITIES: Final = ("info", "low", "medium", "high", "critical")
RANK: Final = {s: i for i, s in enumerate(SEVERITIES)}


class Rule(NamedTuple):
    """A rule id, its severity and what it tells the operator."""

    rule: str
    severity: str
    message: str


def raise_to(severity: str, floor: str) -> str:
    """The higher of two severities."""
    return severity if RANK[severity] >= RANK[floor] else floor


_NET = "makes network connections itself; use ctx.http"
# Imported (or used) module -> rule. Network clients are a capability (the manifest decides);
# native code, spyware and credential stores are behaviours.
MODULES: Final[dict[str, Rule]] = {
    "ctypes": Rule("native-code", "critical", "loads native code (ctypes) that bypasses Python"),
    "_ctypes": Rule("native-code", "critical", "loads native code (ctypes)"),
    "cffi": Rule("native-code", "critical", "loads native code (cffi)"),
    "socket": Rule("raw-network", "high", "opens raw sockets; use ctx.http"),
    "ssl": Rule("raw-network", "medium", "uses TLS sockets directly; use ctx.http"),
    "http.client": Rule("network", "low", _NET),
    "httplib": Rule("network", "low", _NET),
    "urllib.request": Rule("network", "low", _NET),
    "urllib2": Rule("network", "low", _NET),
    "urllib.urlopen": Rule("network", "low", _NET),
    "urllib.urlretrieve": Rule("network", "low", _NET),
    "requests": Rule("network", "low", _NET),
    "httpx": Rule("network", "low", _NET),
    "aiohttp": Rule("network", "low", _NET),
    "urllib3": Rule("network", "low", _NET),
    "pycurl": Rule("network", "low", _NET),
    "websocket": Rule("network", "low", _NET),
    "websockets": Rule("network", "low", _NET),
    "ftplib": Rule("network", "medium", "talks FTP itself"),
    "smtplib": Rule("network", "medium", "sends mail itself"),
    "telnetlib": Rule("network", "medium", "opens telnet sessions"),
    "paramiko": Rule("network", "medium", "opens SSH sessions"),
    "dns": Rule("network", "low", "makes DNS queries itself"),
    "subprocess": Rule("subprocess", "low", "starts programs"),
    "pty": Rule("subprocess", "high", "starts programs in a pseudo-terminal"),
    "commands": Rule("subprocess", "low", "starts programs"),
    "multiprocessing": Rule("subprocess", "low", "starts processes"),
    "pickle": Rule("unsafe-deserialise", "medium", "unpickles data (code execution on load)"),
    "cPickle": Rule("unsafe-deserialise", "medium", "unpickles data (code execution on load)"),
    "dill": Rule("unsafe-deserialise", "medium", "unpickles data (code execution on load)"),
    "marshal": Rule("unsafe-deserialise", "medium", "loads marshalled code objects"),
    "shelve": Rule("unsafe-deserialise", "medium", "unpickles data from shelves"),
    "signal": Rule("process-control", "medium", "installs signal handlers"),
    "runpy": Rule("dynamic-code", "high", "runs modules or files as code"),
    "http.server": Rule("raw-network", "high", "listens for connections (an HTTP server)"),
    "socketserver": Rule("raw-network", "high", "listens for connections"),
    "xmlrpc.server": Rule("raw-network", "high", "listens for connections (an RPC server)"),
    "zipimport": Rule("dynamic-import", "medium", "imports code from zip archives"),
    "pyperclip": Rule("spyware", "high", "reads or replaces the clipboard"),
    "clipboard": Rule("spyware", "high", "reads or replaces the clipboard"),
    "win32clipboard": Rule("spyware", "high", "reads or replaces the clipboard"),
    "pynput": Rule("spyware", "high", "records keyboard or mouse input"),
    "keyboard": Rule("spyware", "high", "records keyboard input"),
    "pyautogui": Rule("spyware", "high", "takes screenshots or drives the desktop"),
    "PIL.ImageGrab": Rule("spyware", "high", "takes screenshots"),
    "mss": Rule("spyware", "high", "takes screenshots"),
    "pyscreenshot": Rule("spyware", "high", "takes screenshots"),
    "cv2.VideoCapture": Rule("spyware", "high", "captures the camera"),
    "sounddevice": Rule("spyware", "high", "records audio"),
    "pyaudio": Rule("spyware", "high", "records audio"),
    "soundcard": Rule("spyware", "high", "records audio"),
    "scapy": Rule("raw-network", "high", "crafts raw network packets"),
    "wget": Rule("network", "low", "downloads files itself; use ctx.http"),
    "boto3": Rule("network", "low", "talks to cloud storage itself"),
    "keyring": Rule("credential-access", "high", "reads the system keyring"),
    "win32crypt": Rule("credential-access", "high", "decrypts stored browser credentials"),
    "browser_cookie3": Rule("credential-access", "high", "reads browser cookies"),
    "browser_cookie": Rule("credential-access", "high", "reads browser cookies"),
    "Crypto.Cipher": Rule("credential-access", "low", "decrypts data (browser password stores)"),
    "winreg": Rule("persistence", "medium", "edits the Windows registry"),
    "_winreg": Rule("persistence", "medium", "edits the Windows registry"),
    "crontab": Rule("persistence", "high", "edits crontabs"),
    "pytransform": Rule("obfuscated-code", "high", "runs PyArmor-obfuscated code"),
    "pyarmor_runtime": Rule("obfuscated-code", "high", "runs PyArmor-obfuscated code"),
    "stegano": Rule("steganography", "medium", "reads data hidden in images"),
    "steganography": Rule("steganography", "medium", "reads data hidden in images"),
    "lsb": Rule("steganography", "medium", "reads data hidden in images"),
}

# Resolved call -> rule (prefix match when the key ends with ".").
CALLS: Final[dict[str, Rule]] = {
    "os.system": Rule("subprocess", "medium", "runs a shell command"),
    "os.popen": Rule("subprocess", "medium", "runs a shell command"),
    "os.fork": Rule("subprocess", "high", "forks the process"),
    "os.forkpty": Rule("subprocess", "high", "forks the process onto a terminal"),
    "os.startfile": Rule("subprocess", "high", "opens a file with its associated program"),
    "os.exec": Rule("subprocess", "high", "replaces the process with a program"),
    "os.spawn": Rule("subprocess", "medium", "starts programs"),
    "os.posix_spawn": Rule("subprocess", "medium", "starts programs"),
    "os.kill": Rule("process-control", "high", "sends signals to processes"),
    "os.killpg": Rule("process-control", "high", "sends signals to process groups"),
    "os.setuid": Rule("process-control", "critical", "changes user id"),
    "os.setgid": Rule("process-control", "critical", "changes group id"),
    "os.chroot": Rule("process-control", "critical", "changes the root directory"),
    "os.setsid": Rule("process-control", "medium", "detaches from its session (daemon)"),
    "resource.setrlimit": Rule("process-control", "medium", "changes process resource limits"),
    "resource.prlimit": Rule("process-control", "medium", "changes process resource limits"),
    "sys._getframe": Rule("introspection", "medium", "reads interpreter frames"),
    "inspect.currentframe": Rule("introspection", "medium", "reads interpreter frames"),
    "gc.get_objects": Rule("introspection", "high", "walks every live object"),
    "gc.get_referrers": Rule("introspection", "high", "walks object references"),
    "marshal.loads": Rule("code-object", "high", "loads a marshalled code object"),
    "types.CodeType": Rule("code-object", "high", "builds a code object"),
    "types.FunctionType": Rule("code-object", "high", "builds a function from a code object"),
    "atexit.register": Rule("install-hook", "low", "runs code when the interpreter exits"),
    "sys.path.insert": Rule("import-path", "medium", "changes where modules are imported from"),
    "sys.path.append": Rule("import-path", "medium", "changes where modules are imported from"),
    "site.addsitedir": Rule("import-path", "medium", "changes where modules are imported from"),
    "winreg.SetValueEx": Rule("persistence", "high", "writes a registry value"),
    "winreg.SetValue": Rule("persistence", "high", "writes a registry value"),
    "asyncio.create_subprocess_shell": Rule("subprocess", "medium", "runs a shell command"),
    "asyncio.create_subprocess_exec": Rule("subprocess", "low", "starts programs"),
    "webbrowser.open": Rule("process-control", "low", "opens a web browser"),
    "tempfile.mktemp": Rule("file-access", "low", "creates a racy temporary file name"),
    "importlib.util.spec_from_file_location": Rule(
        "dynamic-import", "medium", "imports a module from a file path"
    ),
    "importlib.machinery.SourceFileLoader": Rule(
        "dynamic-import", "medium", "imports a module from a file path"
    ),
    "pip.main": Rule("download-exec", "high", "installs packages at run time"),
    "pip._internal.main": Rule("download-exec", "high", "installs packages at run time"),
    "pip._internal.cli.main.main": Rule("download-exec", "high", "installs packages at run time"),
    "__pyarmor__": Rule("obfuscated-code", "high", "runs PyArmor-obfuscated code"),
    "os.add_dll_directory": Rule("native-code", "high", "adds a folder to the DLL search path"),
    "uuid.getnode": Rule("fingerprint", "low", "reads the machine's hardware address"),
    "psutil.process_iter": Rule("fingerprint", "low", "lists running processes"),
    "os.uname": Rule("fingerprint", "low", "reads the host name and system"),
    "platform.uname": Rule("fingerprint", "low", "reads the host name and system"),
    "getpass.getuser": Rule("fingerprint", "low", "reads the user name"),
    "os.getlogin": Rule("fingerprint", "low", "reads the user name"),
    "platform.node": Rule("fingerprint", "low", "reads the host name"),
    "socket.gethostname": Rule("fingerprint", "low", "reads the host name"),
}

# Calls that start programs: the command is judged by what it says.
SUBPROCESS_CALLS: Final = frozenset(
    "subprocess." + f
    for f in ("run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput")
) | {"os.system", "os.popen", "commands.getoutput", "pty.spawn", "os.startfile",
     "asyncio.create_subprocess_shell", "asyncio.create_subprocess_exec",
     "distutils.spawn.spawn", "os.spawnv", "os.spawnl", "os.spawnlp", "os.spawnvp",
     "os.posix_spawn", "os.posix_spawnp", "os.execv", "os.execl", "os.execlp", "os.execvp",
     "os.execve", "os.execle", "os.execvpe", "os.execlpe"}  # fmt: skip

CODE_SINKS: Final = frozenset(
    {"exec", "eval", "execfile", "compile", "runpy.run_path", "runpy.run_module",
     "types.FunctionType", "types.CodeType", "code.InteractiveInterpreter.runsource"}
)  # fmt: skip

# Names that only obfuscated code reaches by string (getattr, globals()[...], __dict__[...]).
SENSITIVE_NAMES: Final = frozenset(
    {"exec", "eval", "compile", "execfile", "__import__", "system", "popen", "spawn",
     "Popen", "run", "call", "check_output", "getoutput", "__subclasses__", "__builtins__",
     "__globals__", "__code__", "getattr", "open", "urlopen", "urlretrieve", "b64decode",
     "decompress", "loads", "import_module", "builtins", "subprocess", "os", "socket",
     "connect", "send", "post", "environ", "getenv", "remove", "rmtree", "chmod",
     "startfile", "execv", "execve", "fork", "dup2", "ctypes", "marshal", "_getframe"}
)  # fmt: skip

# Capabilities a manifest can declare, by rule.
CAPABILITY: Final = {
    "network": "network",
    "raw-network": "network",
    "subprocess": "subprocess",
    "environment": "env",
    "file-access": "fs_read",
}


@final
class Pattern:
    """A telling string: where it is a path, a URL or a command, and what it means.

    The regex compiles on first use: a run whose audit verdicts are all cached (or a
    command that never audits) does not pay for compiling the table.
    """

    __slots__ = ("_regex", "anchors", "kind", "rule", "source")

    def __init__(self, kind: str, source: str, rule: Rule, anchors: tuple[str, ...]) -> None:
        self.kind = kind  # credential | persistence | url | payload | command | evasion | token
        self.source = source
        self.rule = rule
        self.anchors = anchors  # lower-case substrings one of which any match contains
        self._regex: re.Pattern[str] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        rx = self._regex
        if rx is None:
            rx = self._regex = re.compile(self.source, re.IGNORECASE)
        return rx


def _p(
    kind: str, regex: str, rule: str, sev: str, message: str, anchors: tuple[str, ...]
) -> Pattern:
    return Pattern(kind, regex, Rule(rule, sev, message), anchors)


_SEP = r"[/\\]"
PATTERNS: Final = (
    _p("credential", rf"\.ssh({_SEP}|$)|\bid_(rsa|dsa|ecdsa|ed25519)\b|authorized_keys",
       "credential-access", "high", "names SSH keys",
       (".ssh", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "authorized_keys")),
    _p("credential", rf"\.aws{_SEP}(credentials|config)|\.docker{_SEP}config\.json|"
       rf"\.kube{_SEP}config|\.config{_SEP}gcloud|\.azure{_SEP}|\.git-credentials|"
       r"\.netrc\b|\.npmrc\b|\.pypirc\b|\.gnupg\b|\.bash_history|\.zsh_history",
       "credential-access", "high", "names a credentials file",
       (".aws", ".docker", ".kube", "gcloud", ".azure", ".git-credentials", ".netrc", ".npmrc",
        ".pypirc", ".gnupg", "_history")),
    _p("credential", r"/etc/(passwd|shadow|sudoers)\b", "credential-access", "high",
       "names the system's account files",
       ("/etc/",)),
    _p("credential", rf"Login Data|Web Data|Local State|{_SEP}Cookies\b|logins\.json|"
       r"key[34]\.db|cookies\.sqlite|signons\.sqlite|Chrome.{0,20}User Data|\bos_crypt\b|"
       r"\bencrypted_key\b|"
       rf"\.mozilla{_SEP}firefox|BraveSoftware|Opera Software|Yandex{_SEP}YandexBrowser",
       "credential-access", "high", "names a browser's password or cookie store",
       ("os_crypt", "encrypted_key", "login data", "web data", "local state", "cookies",
        "logins.json", "key3.db", "key4.db", "signons", "user data", ".mozilla", "bravesoftware",
        "opera software", "yandex")),
    _p("credential", rf"Local Storage{_SEP}leveldb|"
       rf"{_SEP}(discord(canary|ptb|development)?|lightcord)({_SEP}|$)|dQw4w9WgXcQ:|\.ROBLOSECURITY|"
       rf"Telegram Desktop{_SEP}tdata|wallet\.dat|Exodus{_SEP}|Electrum{_SEP}|"
       r"MetaMask|nkbihfbeogaeaoehlefnkodbefgpgknn|Atomic.?Wallet|keychain|\.keystore\b",
       "credential-access", "high", "names a token, wallet or keychain store",
       ("local storage", "discord", "lightcord", "dqw4w9wgxcq", "roblosecurity", "telegram desktop",
        "wallet", "exodus", "electrum", "metamask", "nkbihfbeogaeaoehlefnkodbefgpgknn", "atomic",
        "keychain", ".keystore")),
    _p("credential", r"SELECT .{0,80}\b(password_value|encrypted_value|origin_url|"
       r"card_number_encrypted)\b|FROM\s+(logins|cookies|moz_cookies|moz_logins|credit_cards)\b",
       "credential-access", "high", "queries a browser's credential database",
       ("password_value", "encrypted_value", "origin_url", "card_number", "logins", "cookies",
        "credit_cards")),
    _p("persistence", r"\.(bashrc|bash_profile|bash_login|zshrc|zprofile|profile)\b|"
       r"/etc/profile\.d|/etc/bash\.bashrc", "persistence", "high",
       "names a shell start-up file",
       (".bash", ".zshrc", ".zprofile", ".profile", "/etc/profile.d")),
    _p("persistence", r"crontab|/etc/cron|/var/spool/cron|\bcron\.d\b", "persistence",
       "high", "names a crontab",
       ("cron",)),
    _p("persistence", rf"\.config{_SEP}autostart|systemd{_SEP}(system|user)\b|"
       rf"LaunchAgents|LaunchDaemons|Start Menu{_SEP}+Programs{_SEP}+Startup|"
       rf"CurrentVersion{_SEP}+Run(Once)?\b|/etc/rc\.local|/etc/init\.d|ld\.so\.preload|"
       rf"\bschtasks\b|systemctl\s+(--user\s+)?enable", "persistence", "high",
       "names an autostart location",
       ("autostart", "systemd", "launchagents", "launchdaemons", "startup", "currentversion",
        "rc.local", "init.d", "ld.so.preload", "schtasks", "systemctl")),
    _p("persistence", r"(^|[/\\])(sitecustomize|usercustomize)\.py$|\.pth$|site-packages",
       "persistence", "high", "names an interpreter start-up file (.pth, sitecustomize)",
       ("customize", ".pth", "site-packages")),
    _p("url", r"discord(app)?\.com/api/webhooks|api\.telegram\.org/bot|"
       r"webhook\.site|pipedream\.net|requestbin|burpcollaborator|oastify\.com|"
       r"\boast\.(pro|live|site|online|fun|me)\b|interact\.sh|canarytokens|ngrok(-free)?\.(io|app)|"
       r"trycloudflare\.com|transfer\.sh|termbin\.com|localhost\.run|serveo\.net",
       "suspicious-url", "high", "names an exfiltration endpoint (webhook, tunnel, drop box)",
       ("discord", "telegram", "webhook", "pipedream", "requestbin", "burpcollaborator", "oastify",
        "oast.", "interact.sh", "canarytokens", "ngrok", "trycloudflare", "transfer.sh", "termbin",
        "localhost.run", "serveo")),
    _p("url", r"hooks\.slack\.com|pastebin\.com/raw|paste\.ee|hastebin|rentry\.co|ghostbin|"
       r"cdn\.discordapp\.com/attachments|anonfiles|filetransfer\.io|sendspace\.com|"
       r"backblazeb2\.com|appdomain\.cloud|discord(app)?\.com/api/|api\.telegram\.org|"
       r"bit\.ly/|tinyurl\.com|is\.gd/|workers\.dev|gofile\.io|mediafire\.com/file",
       "suspicious-url", "medium", "names a paste, file-drop or link-shortener host",
       ("slack", "paste", "hastebin", "rentry", "backblazeb2", "appdomain", "discord", "telegram",
        "ghostbin", "discordapp", "anonfiles", "filetransfer", "sendspace", "bit.ly", "tinyurl",
        "is.gd", "workers.dev", "gofile", "mediafire")),
    _p("url", r"api\.ipify\.org|ifconfig\.(me|co)|ipinfo\.io|icanhazip|checkip\.amazonaws|"
       r"ip-api\.com|myexternalip|wtfismyip", "fingerprint", "medium",
       "looks up the machine's public address",
       ("ipify", "ifconfig.", "ipinfo", "icanhazip", "checkip", "ip-api", "myexternalip",
        "wtfismyip")),
    _p("url", r"\b(https?|tcp|ftp)://(?!(127\.|10\.|192\.168\.|0\.0\.0\.0|localhost))"
       r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|\[[0-9a-f:]*:[0-9a-f:]*\])",
       "suspicious-url", "medium",
       "names a server by its raw IP address",
       ("://",)),
    _p("url", r"https?://[^/\s\"']+\.(xyz|tk|ml|ga|cf|gq|pw|top|icu|cam|sbs|quest|click|buzz|"
       r"club|link|date|bid|stream|uno|ws|mw|bd|ke|am|cd|email|zip|mov)"
       r"(/|:|$)", "suspicious-url", "low", "names a host in a TLD favoured by malware",
       ("://",)),
    _p("payload", r"\b(curl|wget)\b[^|;&]*(\||&&|;)\s*(sudo\s+)?(ba|z|da)?sh\b|"
       r"\b(curl|wget)\b.{0,200}-[oO]\s|\bInvoke-WebRequest\b|DownloadString|DownloadFile|"
       r"\bIEX\b|Invoke-Expression|certutil.{0,40}-urlcache|bitsadmin.{0,40}/transfer|"
       r"\bmshta\b|\bregsvr32\b|\brundll32\b|base64\s+(-d|--decode)\b.{0,40}\|\s*(ba)?sh\b|"
       r"Add-MpPreference|Set-MpPreference", "download-exec", "critical",
       "downloads and runs a program",
       ("curl", "wget", "invoke-webrequest", "download", "iex", "invoke-expression", "certutil",
        "bitsadmin", "mshta", "regsvr32", "rundll32", "base64", "mppreference")),
    _p("payload", r"/dev/tcp/|\bnc(at)?\b.{0,40}\s-[ec]\b|\bbash\s+-i\b|\bsocat\b.{0,60}exec|"
       r"\bmkfifo\b.{0,60}\bnc\b", "reverse-shell", "critical", "opens a reverse shell",
       ("/dev/tcp", "nc", "bash", "socat", "mkfifo")),
    _p("payload", r"powershell(\.exe)?\b.{0,80}(-e(nc|ncodedcommand)?\s|-w(indowstyle)?\s+hidden|"
       r"-nop\b|bypass)|\bpythonw(\.exe)?\b|\bstart\s+/b\b", "silent-process", "critical",
       "runs hidden or encoded PowerShell, or a windowless interpreter",
       ("powershell", "pythonw", "start")),
    _p("payload", r"\bxmrig\b|stratum\+tcp|\bminerd\b|cryptonight|nicehash",
       "cryptominer", "critical", "runs a cryptocurrency miner",
       ("xmrig", "stratum", "minerd", "cryptonight", "nicehash")),
    _p("command", r"\bchmod\s+(\+x|[0-7]?7[0-7][0-7])\b|\bpip3?\s+install\b|-m\s+pip\s+install",
       "download-exec", "high", "installs or makes executable a program at run time",
       ("chmod", "pip")),
    _p("evasion", r"vboxservice|vboxtray|vboxmouse|vboxguest|vmtoolsd|vmwaretray|vmwareuser|"
       r"wireshark|x64dbg|x32dbg|ollydbg|ida64|windbg|fiddler|processhacker|procmon|"
       r"sandboxie|sbiedll|cuckoo|httpdebugger|qemu-ga",
       "evasion", "medium", "looks for analysis tools or virtual machines (sandbox evasion)",
       ("vbox", "vmtools", "vmware", "wireshark", "dbg", "ida64", "fiddler", "processhacker",
        "procmon", "sandboxie", "sbiedll", "cuckoo", "httpdebugger", "qemu-ga")),
    _p("token", r"\bghp_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}|\bAKIA[0-9A-Z]{16}\b|"
       r"\bxox[abpr]-[A-Za-z0-9-]{10,}|\b\d{8,10}:AA[A-Za-z0-9_-]{30,}",
       "credential-access", "medium", "embeds an access token (someone's account)",
       ("ghp_", "github_pat_", "akia", "xox", ":aa")),
    _p("token", r"\[\\w-\]\{2[46]\}\\\.\[\\w-\]\{6\}|mfa\\\.\[\\w-\]\{84\}|"
       r"\(bc1\|\[13\]\)|0x\[a-fA-F0-9\]\{40\}|\[13\]\[a-km-zA-HJ-NP-Z1-9\]",
       "credential-access", "high", "matches Discord tokens or wallet addresses",
       ("{24}", "{26}", "{84}", "bc1", "0x[a-f", "[13]")),
)  # fmt: skip


def matching(text: str, *kinds: str) -> list[Pattern]:
    """The telling patterns ``text`` matches (of the given kinds, or all), in table order.

    Each pattern runs only if one of its anchors occurs in ``text``: substring tests are
    cheap, and most strings in ordinary code contain none of them.
    """
    low = text.lower()
    if not _anchors().search(low):
        return []
    return [
        p
        for p in PATTERNS
        if (not kinds or p.kind in kinds)
        and any(a in low for a in p.anchors)
        and p.regex.search(text)
    ]


@cache
def _anchors() -> re.Pattern[str]:
    """Any pattern's anchor (compiled on first use, like the patterns)."""
    return re.compile("|".join(re.escape(a) for p in PATTERNS for a in p.anchors))


HINTS: Final = {
    "network": "fetch through ctx.http and declare the host in [plugin.permissions] network",
    "raw-network": "fetch through ctx.http and declare the host in [plugin.permissions] network",
    "subprocess": "declare subprocess = true in [plugin.permissions] and run literal programs",
    "native-code": "native code cannot be confined by the audit; run it only as trusted",
    "environment": "read secrets with ctx.secret(name) and declare them in env = [...]",
    "environment-dump": "read only the variables you declare in env = [...]",
    "dynamic-code": "avoid eval/exec; parse data with json or tomllib",
    "code-object": "ship readable source; do not build code objects",
    "dynamic-import": "import modules by their literal names",
    "obfuscation": "spell names and code out literally; the audit refuses what it cannot read",
    "obfuscated-code": "ship readable source; the audit refuses what it cannot read",
    "encoded-blob": "ship data as data files, not encoded blobs in source",
    "introspection": "pipeline plugins need no interpreter internals",
    "unsafe-deserialise": "use json or msgspec for data",
    "compiled-code": "ship the .py sources; the audit reads only source code",
    "unreadable": "ship plain UTF-8 Python source of reasonable size as regular files",
    "unparsable": "ship source that parses with the host's Python",
    "process-control": "leave process and signal control to the host",
    "exfiltration": "a pipeline plugin sends records to wiseflow, not secrets to a server",
    "download-exec": "ship the code you run; never run what you download",
    "credential-access": "read secrets with ctx.secret(name); never read other programs' stores",
    "persistence": "a plugin writes only to ctx.data_dir and granted fs_write paths",
    "reverse-shell": "pipeline plugins do not hand out shells",
    "silent-process": "let the programs you run report their output",
    "cryptominer": "pipeline plugins do not mine",
    "spyware": "pipeline plugins do not read the clipboard, keyboard or screen",
    "steganography": "ship code as source, not hidden in images",
    "install-hook": "plugins install no hooks; the host decides what runs when",
    "suspicious-url": "fetch only the hosts you declare in network = [...]",
    "fingerprint": "plugins need not identify the machine or its user",
    "file-access": "read only your own folder and the paths declared in fs_read = [...]",
    "import-path": "import from your own package; do not change sys.path",
    "destruction": "a plugin deletes only what it wrote in ctx.data_dir",
    "evasion": "plugins have no reason to look for debuggers or virtual machines",
    "local-socket": "fetch through ctx.http; a plugin needs no sockets of its own",
}
