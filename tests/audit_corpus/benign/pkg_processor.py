# declares:
import hashlib
import unicodedata

from wiseflow import ProcessorPlugin


class Normalise(ProcessorPlugin):
    def process(self, batch):
        out = []
        for rec in batch:
            text = unicodedata.normalize("NFKC", rec.data.get("text", ""))
            digest = hashlib.sha1(text.encode()).hexdigest()
            out.append(rec.replace(data={**rec.data, "text": text, "digest": digest}))
        return out
