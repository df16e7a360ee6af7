"""The Studio HTTP routes, one module per subject; each module's ``router()`` builds its
``APIRouter`` and every route gets what it needs through dependencies (``studio.context``)."""
