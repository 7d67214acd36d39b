# declares: network=api.example.com:443
import httpx

client = httpx.Client(base_url="https://api.example.com", timeout=10)


def page(n: int):
    return client.get("/items", params={"page": n}).json()
