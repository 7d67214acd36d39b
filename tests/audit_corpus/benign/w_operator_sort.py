# declares:
import operator


def by_date(records):
    return sorted(records, key=operator.attrgetter("date"))
