"""The audit's tables: modules, calls, telling strings, and the hint for each rule.

The telling strings (``_patterns``) and the severity scale (``_severity``) have modules of
their own; their names are imported from here as well. Severities say how sure the audit
is that a statement is hostile, not how powerful it is: a literal ``git`` command is a
capability (low, or information once the manifest declares ``subprocess``), base64 fed to
``exec`` is a behaviour no plugin needs (critical).
"""

from __future__ import annotations

from typing import Final

from ._patterns import PATTERNS, Pattern, matching
from ._severity import RANK, SEVERITIES, Rule, raise_to

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
