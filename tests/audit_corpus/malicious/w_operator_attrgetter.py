import operator
import os
f = operator.attrgetter("system")(os)  # MAL
f("id")  # MAL
