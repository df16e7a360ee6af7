"""The Studio HTTP routes, one module per subject. Each handler is a module-level function that
gets what it needs through dependencies (``studio.context``), so it can be tested alone; each
module's ``router()`` registers its handlers on a new ``APIRouter``."""
