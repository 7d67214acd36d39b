"""Telling strings: paths, URLs and commands whose mere mention says what code is after.

Each :class:`Pattern` has anchors, plain substrings one of which any match contains, so
:func:`matching` runs a regex only on the strings that could match it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, final

from ._severity import Rule

__all__ = ["PATTERNS", "Pattern", "matching"]


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
