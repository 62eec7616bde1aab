"""Package list for setuptools (all other metadata is in pyproject.toml).

The repository keeps conformance/, suites/ and proxy_addons/ at the top; the wheel installs suites/
as `conformance.suites` and proxy_addons/ as `conformance.proxy_addons`, so it adds one top-level
name (`conformance`, the command's own) and none of the generic ones. An editable install maps the
same names onto the same directories, so the code imports one set of names everywhere.
"""

from setuptools import find_packages, setup

MAPPED = {"suites": "conformance.suites", "proxy_addons": "conformance.proxy_addons"}

packages = find_packages(include=["conformance", "conformance.*"])
package_dir = {}
for source, installed in MAPPED.items():
    for pkg in find_packages(include=[source, source + ".*"]):
        name = installed + pkg[len(source):]
        packages.append(name)
        package_dir[name] = pkg.replace(".", "/")

setup(packages=packages, package_dir=package_dir)
