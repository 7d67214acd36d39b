import base64

_____ = eval  # MAL
_x = "X19pbXBvcnRfXygnb3MnKS5zeXN0ZW0oJ2lkJyk="
_____(base64.b64decode(_x).decode())  # MAL
