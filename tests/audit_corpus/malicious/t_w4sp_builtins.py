__import__('builtins').exec(__import__('builtins').compile(__import__('base64').b64decode("cHJpbnQoJ3gnKQ=="), '<string>', 'exec'))  # MAL
