# Sphinx configuration of the vmetal-ironic release notes (reno).
project = 'vmetal-ironic Release Notes'
copyright = 'vmetal-ironic developers'
extensions = ['reno.sphinxext']
master_doc = 'index'
source_suffix = '.rst'
exclude_patterns = []
html_theme = 'alabaster'
html_static_path = []
