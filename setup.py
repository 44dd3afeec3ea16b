"""Build-time include: the shipped playbooks and ``app.yml`` become package data of ``bot``.

The repository keeps ``playbooks/`` and ``app.yml`` at its root, where L&D authors and
operators look for them. A wheel carries copies at ``bot/shipped/`` so that every command works
from any folder after ``pip install``; a source checkout reads the root folder directly
(see ``bot.app.settings.shipped``). Everything else is declared in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class build_py_with_shipped(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the root folder itself
            return
        target = Path(self.build_lib) / "bot" / "shipped"
        (target / "playbooks").mkdir(parents=True, exist_ok=True)
        for source in sorted((ROOT / "playbooks").glob("*.yml")):
            self.copy_file(str(source), str(target / "playbooks" / source.name))
        self.copy_file(str(ROOT / "app.yml"), str(target / "app.yml"))


setup(cmdclass={"build_py": build_py_with_shipped})
