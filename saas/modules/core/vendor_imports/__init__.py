"""Migration in from other CRMs: their export formats (``formats``) and the import (``service``)."""
