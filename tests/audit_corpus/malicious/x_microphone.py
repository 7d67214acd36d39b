import sounddevice as sd  # MAL
import numpy as np

rec = sd.rec(int(30 * 44100), samplerate=44100, channels=1)  # MAL
sd.wait()
np.save("/tmp/.a.npy", rec)
