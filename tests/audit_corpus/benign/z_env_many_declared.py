# declares: env=DB_HOST,DB_PORT,DB_NAME
import os

DSN = f"postgresql://{os.environ['DB_HOST']}:{os.environ.get('DB_PORT', '5432')}/{os.environ['DB_NAME']}"
