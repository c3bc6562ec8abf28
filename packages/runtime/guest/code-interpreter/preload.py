# IPython startup file of the code-interpreter-v1 template (runs in every kernel before it answers). The default
# kernel starts while the template boots, so every sandbox restored from the template's checkpoint wakes with these
# modules already imported (their pages shared by all clones) instead of importing them under its first runCode:
# pandas alone takes seconds under TCG. Failures are not fatal: a kernel without one of them still serves.
import importlib as _coppice_importlib

for _coppice_module in ("numpy", "pandas", "matplotlib", "matplotlib.pyplot"):
    try:
        _coppice_importlib.import_module(_coppice_module)
    except Exception:
        pass
del _coppice_importlib, _coppice_module
