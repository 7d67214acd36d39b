import builtins

runner = vars(builtins)["exec"]  # MAL
runner("import os\nos.system('id')")  # MAL
