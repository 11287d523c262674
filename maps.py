"""The map figures: the atlas codes by class, the labelled class centres, the decoded manifold
behind them, and the overlays (interpolation paths, samples, a drawing's encoding). The marker at
the current z is drawn by the page (web/), so moving it never resends a figure.

    import maps
    maps.map_figure("mnist_vae_beta4", ["samples"], samples=[[0, 0], [1, 1]])  # a go.Figure

Above store.py; used by the page's tabs. Tested in tests/test_demo_handlers.py and in Chromium
by tests/test_page_ux.py (the labels do not overlap, the axes are equal).
"""

import dataclasses

import numpy as np
import plotly.graph_objects as go
from PIL import ImageOps
from plotly.colors import qualitative

import checks
import directions as dirs
import images
import latent_utils as lu
import morphometry as mm
from neural_network import decode_uint8
from store import STORE

MAP_POINTS = lu.MAP_POINTS  # atlas codes drawn on the map
MANIFOLD_N = 20  # the decoded-manifold background is an n x n grid of digits
OVERLAYS = ["decoded manifold", "interpolation path", "samples", "drawing"]
NO_HEAT = "nothing"  # the background is not coloured by an attribute
HEAT_N = 20  # the attribute heat map measures an n x n grid of decoded digits
INSET_PX = 40  # q(z|x) whose 2-sigma ellipse is narrower than this on the map gets an inset
MAP_AREA_PX = (712, 451)  # the map's plot area on a 1366 px wide page, which the labels are sized for


def planed(lm, by=()):
    """lm with the map's plane through the centres of the classes `by` (three class indices)
    instead of its principal plane (latent_utils.plane); () or None: lm itself."""
    if not by:
        return lm
    by = tuple(int(c) for c in by)
    plane = STORE.memo((lm.name, "plane", by), lambda: lu.plane(lm.atlas["mu"], through=lm.centres[list(by)]))
    return dataclasses.replace(lm, plane=plane, plane_by=by)


def on_map(lm, z):
    """Codes [N, latent_dim] -> where they show on the map [N, 2]: their coordinates on the
    map's plane (latent_utils.project onto lm.plane); in a 2-D latent, z itself."""
    z = np.asarray(z, float).reshape(-1, lm.dim)
    return z if lm.dim == 2 else lu.project(z, *lm.plane[:2]).numpy()


def lift(lm, p):
    """Map coordinates [N, 2] -> codes [N, latent_dim] on the map's plane through its origin (the
    codes' mean, or the first of three named centres); in a 2-D latent, p itself."""
    p = np.asarray(p, float)
    origin, basis = (t.double().numpy() for t in lm.plane[:2])
    return p if lm.dim == 2 else origin + p @ basis.T


def map_extent(lm):
    """(xmin, xmax, ymin, ymax) the map can reach: the extent in 2-D; on a plane through a larger
    latent, the codes' own extent on it (latent_utils.extent of their map coordinates), found
    once per model and plane."""
    if lm.dim == 2:
        return list(lm.extent)
    return STORE.memo((lm.name, lm.plane_by, "map extent"),
                      lambda: lu.extent(on_map(lm, lm.atlas["mu"].numpy())))


def map_view(lm):
    """(xmin, xmax, ymin, ymax) the map opens on. A VAE's extent holds its codes; an AE's codes
    have long tails (mnist_ae: the middle half within -1..4, the extent -52..85), so its map
    opens on its class centres, padded by a quarter of their span (the toolbar's zoom-out shows
    the rest, and the position still spans the whole extent)."""
    if lm.has_prior:
        return map_extent(lm)
    centres = on_map(lm, lm.centres)
    lo, hi = centres.min(0), centres.max(0)
    pad = 0.25 * (hi - lo)
    xmin, xmax, ymin, ymax = map_extent(lm)
    return [max(xmin, float(lo[0] - pad[0])), min(xmax, float(hi[0] + pad[0])),
            max(ymin, float(lo[1] - pad[1])), min(ymax, float(hi[1] + pad[1]))]


def manifold_square(lm):
    """The square the decoded manifold covers: map_view's centre, its longer side (so each cell
    of the grid is square on the map's equal-aspect axes)."""
    xmin, xmax, ymin, ymax = map_view(lm)
    cx, cy, half = (xmin + xmax) / 2, (ymin + ymax) / 2, max(xmax - xmin, ymax - ymin) / 2
    return [cx - half, cx + half, cy - half, cy + half]


def manifold(name=None, plane_by=()):
    """The decoded MANIFOLD_N x MANIFOLD_N grid over manifold_square(model), one grey image
    (top row: max y), decoded once per model and plane."""
    lm = planed(STORE.get(name), plane_by)
    return STORE.memo((lm.name, lm.plane_by, "manifold"), lambda: images.tile(
        decode_uint8(lm.model, lift(lm, lu.grid(manifold_square(lm), MANIFOLD_N))), MANIFOLD_N,
        scale=1, gap=0))


def heat(name, attribute, plane_by=()):
    """An attribute (morphometry.py) of the digits decoded on a HEAT_N x HEAT_N grid over
    manifold_square(model) -> (xs, ys, values [HEAT_N, HEAT_N], rows by rising y; NaN where the
    decoded digit is blank), measured once per model, plane and attribute (about a second)."""
    lm = planed(STORE.get(name), plane_by)

    def make():
        x0, x1, y0, y1 = manifold_square(lm)
        z = lift(lm, lu.grid((x0, x1, y0, y1), HEAT_N))
        values = dirs.measure_decoded(lm.model, z)[:, dirs.ATTRIBUTES.index(attribute)]
        return (np.linspace(x0, x1, HEAT_N), np.linspace(y0, y1, HEAT_N),
                values.reshape(HEAT_N, HEAT_N)[::-1])
    return STORE.memo((lm.name, lm.plane_by, "heat", attribute), make)


def heat_trace(name, attribute, plane_by=()):
    """The heat map under the dots, as a plain dict (see map_figure)."""
    xs, ys, values = heat(name, attribute, plane_by)
    return dict(type="heatmap", x=xs, y=ys, z=np.where(np.isfinite(values), values, None),
                colorscale="Viridis", opacity=0.5, zsmooth="best", hoverinfo="skip",
                showscale=True, name=attribute,
                colorbar=dict(title=dict(text=f"{attribute}<br>({mm.ATTRIBUTES[attribute]})",
                                         font=dict(size=11)), thickness=10, len=0.6, x=1.0))


def label_positions(centres, names, view, rounds=200):
    """Where the class labels go: at their centres, pushed apart until no two label boxes
    overlap, so that none hides another (Fashion-MNIST's shirts, pullovers and coats share a
    corner). The boxes are in pixels of the desktop map (MAP_AREA_PX, whose equal-aspect axes
    show `view` at max(x span / width, y span / height) units a pixel): 7.2 px a character at
    the map's 12 px bold, plus 14 px; 22 px a line. Each overlapping pair moves apart, half each,
    along the axis that frees it with the smaller move."""
    units = max((view[1] - view[0]) / MAP_AREA_PX[0], (view[3] - view[2]) / MAP_AREA_PX[1])
    p = np.asarray(centres, float) / units
    half_w, half_h = np.array([7.2 * len(n) + 14 for n in names]) / 2, 11.0
    for _ in range(rounds):
        moved = False
        for i in range(len(p)):
            for j in range(i):
                d = p[i] - p[j]
                over = np.array([half_w[i] + half_w[j] - abs(d[0]), 2 * half_h - abs(d[1])])
                if (over <= 0).any():
                    continue
                axis = int(over[1] < over[0])
                sign = 1.0 if d[axis] >= 0 else -1.0
                p[i, axis] += sign * (over[axis] / 2 + 0.5)
                p[j, axis] -= sign * (over[axis] / 2 + 0.5)
                moved = True
        if not moved:
            break
    return p * units


def map_figure(model, overlays=(), path=None, samples=None, drawing=None, heat_by=NO_HEAT, plane_by=None):
    """The map: atlas codes by class, labelled centres, the chosen overlays and, heat_by an
    attribute, the background coloured by that attribute of the decoded digits. A latent larger
    than 2 is shown on its principal plane, or on the plane through the centres of the three
    classes plane_by. The parts that
    depend on the model alone are built once (base_map, kept by STORE.memo); the overlays are
    added as plain dicts, and the figure is not validated again (plotly's validation of the 3000
    points cost 20 ms a redraw, measured)."""
    lm = planed(STORE.get(model), plane_by)
    overlays = overlays or ()
    with_manifold = "decoded manifold" in overlays
    base = STORE.memo((lm.name, lm.plane_by, "map", with_manifold), lambda: base_map(lm, with_manifold))
    data, notes = list(base["data"]), list(base["layout"].get("annotations", ()))
    if heat_by and heat_by != NO_HEAT:
        data.insert(0, heat_trace(lm.name, checks.attribute(heat_by), lm.plane_by))
    if path and "interpolation path" in overlays:
        for (method, p), dash in zip(path.items(), ["solid", "dot"]):
            p = on_map(lm, p)
            data.append(dict(type="scatter", x=p[:, 0], y=p[:, 1], mode="lines+markers",
                             name=method, line=dict(color="black", dash=dash), marker=dict(size=5)))
    if samples and "samples" in overlays:
        s = on_map(lm, samples)
        data.append(dict(type="scatter", x=s[:, 0], y=s[:, 1], mode="markers", name="samples",
                         marker=dict(symbol="x", size=8, color="black",
                                     line=dict(width=1, color="white"))))
        distinct = len(np.unique(s, axis=0))
        if distinct < len(s):  # sigma 0 stacks them: say so, beside the marker
            notes.append(dict(x=s[0, 0], y=s[0, 1], text=f"{len(s)} samples, {distinct} distinct "
                              "(sigma 0)", showarrow=True, ax=60, ay=-36,
                              bgcolor="rgba(255,255,255,0.85)", font=dict(size=11)))
    layout = dict(base["layout"])
    if drawing and "drawing" in overlays:
        sigma = max(drawing["sigma"])
        inset = 0 < 4 * sigma / units_per_px(map_view(lm)) < INSET_PX
        data += posterior(lm, drawing, numbered=not inset)
        if drawing.get("z", drawing["mu"]) != drawing["mu"]:  # edited in the Draw tab
            (mx, my), (ex, ey) = on_map(lm, [drawing["mu"], drawing["z"]])
            data.append(dict(type="scatter", x=[mx, ex], y=[my, ey], mode="lines+markers",
                             name="drawing, edited", line=dict(color="crimson", dash="dot"),
                             marker=dict(symbol=["star", "star-open"], size=14, color="crimson")))
        # q(z|x) smaller than INSET_PX on the map: magnified in an inset, top right (a press
        # there does not move z, web/map.js)
        if inset:
            data += posterior(lm, drawing, "x2", "y2")
            (mx, my), half = on_map(lm, drawing["mu"])[0], 3.5 * sigma
            axis = dict(showgrid=False, zeroline=False, showline=True, linecolor="#888",
                        mirror=True, showticklabels=False, ticks="")
            layout.update(
                xaxis2=dict(axis, domain=[0.70, 0.99], range=[mx - half, mx + half], anchor="y2"),
                yaxis2=dict(axis, domain=[0.66, 0.99], range=[my - half, my + half], anchor="x2",
                            scaleanchor="x2", scaleratio=1))
            magnified = units_per_px(map_view(lm)) * 0.29 * MAP_AREA_PX[0] / (2 * half)
            notes.append(dict(xref="x2 domain", yref="y2 domain", x=0.02, y=0.98, showarrow=False,
                              xanchor="left", yanchor="top", font=dict(size=10),
                              text=f"q(z|x), magnified {magnified:.0f}x"))
    return go.Figure({"data": data, "layout": {**layout, "annotations": notes}},
                     _validate=False)


def units_per_px(view):
    """z units a pixel of the desktop map (MAP_AREA_PX) showing `view` on equal-scale axes."""
    return max((view[1] - view[0]) / MAP_AREA_PX[0], (view[3] - view[2]) / MAP_AREA_PX[1])


def posterior(lm, drawing, xaxis="x", yaxis="y", numbered=True):
    """An encoded image's q(z|x) as map traces on axes (xaxis, yaxis): its 1- and 2-sigma
    ellipses, mu (a star) and the samples drawn from it (tab_draw.ui_sample), numbered as in the
    Draw tab's strip and text (which give each one's eps). On a plane through a larger latent,
    the ellipses are those of q's projection onto it, whose covariance is B^T diag(sigma^2) B."""
    (mx, my), sigma = on_map(lm, drawing["mu"])[0], np.asarray(drawing["sigma"], float)
    if lm.dim == 2:
        spread = np.diag(sigma)  # axis-aligned: the ellipse's half-axes are sigma itself
    else:
        basis = lm.plane[1].double().numpy()
        spread = np.linalg.cholesky(basis.T @ np.diag(sigma ** 2) @ basis + 1e-12 * np.eye(2))
    t = np.linspace(0, 2 * np.pi, 61)
    ring = spread @ np.stack([np.cos(t), np.sin(t)])
    axes = dict(xaxis=xaxis, yaxis=yaxis, showlegend=xaxis == "x")
    traces = [dict(type="scatter", x=mx + r * ring[0], y=my + r * ring[1],
                   mode="lines", name=f"q(z|x) {r}σ", legendgroup="drawing",
                   line=dict(color="crimson", width=2 if r == 1 else 1, dash="solid" if r == 1 else "dash"),
                   **axes)
              for r in (1, 2) if sigma.any()]
    traces.append(dict(type="scatter", x=[mx], y=[my], mode="markers", name="drawing",
                       legendgroup="drawing", marker=dict(symbol="star", size=14, color="crimson"), **axes))
    samples = drawing.get("samples") or []
    if samples:
        z = on_map(lm, [s["z"] for s in samples])
        traces.append(dict(type="scatter", x=z[:, 0], y=z[:, 1],
                           mode="markers+text" if numbered else "markers",
                           name="q(z|x) samples", legendgroup="drawing",
                           text=[f"{k + 1}" for k in range(len(samples))],
                           textposition="top center", textfont=dict(size=10),
                           marker=dict(symbol="circle-open", size=8, color="crimson"), **axes))
    return traces


def base_map(lm, with_manifold):
    """The model's part of the map, as a dict: its codes by class, the decoded manifold (if
    asked), the class labels, the axes."""
    codes, labels = lm.atlas["mu"][:MAP_POINTS].numpy(), lm.atlas["labels"][:MAP_POINTS].numpy()
    mu, opacity = on_map(lm, codes), np.full(len(codes), 0.6)
    if lm.dim > 2:  # a dot fainter the farther its code lies from the plane (through its origin)
        off = np.linalg.norm(codes - lift(lm, mu), axis=1)
        opacity = 0.08 + 0.62 * np.exp(-0.5 * (off / np.median(off)) ** 2)
    # SVG Scatter, not Scattergl: measured in Chromium, 3000 points draw in 230 ms as SVG and
    # 385 ms through WebGL (its start-up cost), and SVG needs no GPU.
    fig = go.Figure([go.Scatter(x=mu[labels == c, 0], y=mu[labels == c, 1], mode="markers", name=name,
                                marker=dict(size=4, color=qualitative.D3[c],
                                            opacity=0.6 if lm.dim == 2 else opacity[labels == c]))
                     for c, name in enumerate(lm.classes)])
    view = map_view(lm)
    if with_manifold:
        # dark ink on white, faint under the coloured dots; each digit's cell centred on the z it
        # was decoded at (lu.grid puts the points on the square's edges, so the image reaches half
        # a cell past them); Plotly writes it as a PNG data URI
        x0, x1, y0, y1 = manifold_square(lm)
        half = (x1 - x0) / (MANIFOLD_N - 1) / 2
        fig.add_layout_image(source=ImageOps.invert(manifold(lm.name, lm.plane_by)), xref="x", yref="y",
                             x=x0 - half, y=y1 + half, sizex=x1 - x0 + 2 * half,
                             sizey=y1 - y0 + 2 * half, sizing="stretch", layer="below",
                             opacity=0.4)
    centres = on_map(lm, lm.centres)
    if lm.plane_by:  # the three centres the plane passes through, marked
        fig.add_trace(go.Scatter(x=centres[list(lm.plane_by), 0], y=centres[list(lm.plane_by), 1],
                                 mode="markers", name="the plane's centres",
                                 marker=dict(symbol="diamond", size=13, color="white",
                                             line=dict(width=2.5, color="black"))))
    for name, (cx, cy), (lx, ly) in zip(lm.classes, centres, label_positions(centres, lm.classes, view)):
        moved = bool(abs(lx - cx) + abs(ly - cy) > 1e-9)
        fig.add_annotation(x=cx, y=cy, ax=lx, ay=ly, axref="x", ayref="y", showarrow=moved,
                           arrowwidth=1, arrowcolor="#555", text=f"<b>{name}</b>",
                           bgcolor="rgba(255,255,255,0.75)", font=dict(size=12))
    # The region z can reach (the extent: a click beyond it goes nowhere, web/map.js) outlined,
    # the map beyond it greyed; for a VAE, the prior's 1- and 2-sigma circles for scale.
    xmin, xmax, ymin, ymax = map_extent(lm)
    far = 1e4  # beyond any view
    for x0, x1, y0, y1 in [(-far, xmin, -far, far), (xmax, far, -far, far),
                           (xmin, xmax, -far, ymin), (xmin, xmax, ymax, far)]:
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor="rgba(0, 0, 0, 0.07)",
                      line=dict(width=0), layer="below")
    fig.add_shape(type="rect", x0=xmin, x1=xmax, y0=ymin, y1=ymax, layer="below",
                  line=dict(color="#777", width=1, dash="dash"))
    if lm.has_prior:  # on a plane, N(0, I)'s projection: the same circles about 0's projection
        (ox, oy), = on_map(lm, np.zeros(lm.dim))
        for r in (1, 2):
            fig.add_shape(type="circle", x0=ox - r, x1=ox + r, y0=oy - r, y1=oy + r, layer="below",
                          line=dict(color="#999", width=1, dash="dot"))
            fig.add_annotation(x=ox, y=oy + r, text=f"prior {r}σ", showarrow=False, yshift=7,
                               font=dict(size=10, color="#555"))
    # dragmode False: a press or a drag on the map moves the position (web/), so zooming is the
    # toolbar's +/-/reset (always shown) or the wheel; the hover preview shows the digit under
    # the pointer, so Plotly's own hover labels are off.
    fig.update_layout(dragmode=False, hovermode=False,
                      modebar=dict(remove=["zoom", "pan", "select", "lasso", "autoScale"],
                                   orientation="v"))
    axis = dict(font=dict(size=13), standoff=2)
    # No height: the map fills its box, whose height web/navigator.css sets (560 px, smaller on a
    # phone). Equal aspect: a unit of z1 is as long as a unit of z2, so the shapes are true.
    xmin, xmax, ymin, ymax = view
    if lm.dim == 2:
        titles = ("z1", "z2")
    elif lm.plane_by:
        a, b, c = (lm.classes[i] for i in lm.plane_by)
        titles = (f"from centre {a} toward {b} (the plane through the centres of {a}, {b}, {c} holds "
                  f"{lm.plane[2]:.0%} of the codes' variance)", f"toward {c}, at right angles")
    else:
        titles = (f"PC1 of the codes (the plane holds {lm.plane[2]:.0%} of their variance)", "PC2")
    fig.update_layout(margin=dict(l=48, r=10, t=10, b=30), uirevision=" ".join([lm.name, *map(str, lm.plane_by)]),
                      meta=dict(model=lm.name, plane=list(lm.plane_by), view=view),  # the view asked for (web/glue.js)
                      xaxis=dict(range=[xmin, xmax], title=dict(text=titles[0], **axis)),
                      yaxis=dict(range=[ymin, ymax], title=dict(text=titles[1], **axis),
                                 scaleanchor="x", scaleratio=1),
                      legend=dict(orientation="h", y=-0.09, font=dict(size=11),
                                  title=dict(text="click a class to hide it:", side="left")),
                      plot_bgcolor="white")
    return fig.to_dict()
