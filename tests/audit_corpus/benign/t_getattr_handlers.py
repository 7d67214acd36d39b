# declares:
class Processor:
    def process(self, batch):
        out = []
        for rec in batch:
            handler = getattr(self, f"_on_{rec.kind}", self._default)
            out.append(handler(rec))
        return out

    def _default(self, rec):
        return rec
