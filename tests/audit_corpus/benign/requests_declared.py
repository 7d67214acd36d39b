# declares: network=api.weather.gov:443
import requests


def forecast(lat, lon):
    r = requests.get(f"https://api.weather.gov/points/{lat},{lon}", timeout=10)
    r.raise_for_status()
    return r.json()
