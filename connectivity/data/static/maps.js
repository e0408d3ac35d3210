// Runtime of the offline duct maps (connectivity.maps): decodes the embedded datasets
// and builds the Leaflet layers in the page. Inlined into every map page.
(function () {
  var C = window.__connectivity = window.__connectivity || {layers: {}, data: {}, map: null};
  var ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
  C.esc = function (s) { return String(s).replace(/[&<>"']/g, function (ch) { return ESC[ch]; }); };
  C.timings = C.timings || [];
  C.decode = function (d) {
    var t0 = performance.now();
    var c = d.c, x = d.o[0], y = d.o[1], k = 0, n = d.n, g = new Array(n), i, j, r;
    function pt() { x += c[k]; y += c[k + 1]; k += 2; return new L.LatLng(y / 1e6, x / 1e6); }
    function seq(m) { var a = new Array(m); for (var q = 0; q < m; q++) a[q] = pt(); return a; }
    if (d.kind === 'point') {
      for (i = 0; i < n; i++) g[i] = pt();
    } else if (d.kind === 'line') {
      var p = 0;
      for (i = 0; i < n; i++) {
        var np = d.pc ? d.pc[i] : 1, parts = [];
        for (j = 0; j < np; j++) parts.push(seq(d.cc[p++]));
        g[i] = np === 1 ? parts[0] : parts;
      }
    } else {
      var pi = 0, ri = 0;
      for (i = 0; i < n; i++) {
        var npoly = d.pc ? d.pc[i] : 1, polys = [];
        for (j = 0; j < npoly; j++) {
          var nr = d.rc ? d.rc[pi] : 1, rings = [];
          pi++;
          for (r = 0; r < nr; r++) rings.push(seq(d.cc[ri++]));
          polys.push(rings);
        }
        g[i] = npoly === 1 ? polys[0] : polys;
      }
    }
    d.g = g;
    C.timings.push(['decode', d.kind, n, performance.now() - t0]);
    return d;
  };
  // A polyline of many parts that knows which part (feature) is under the mouse.
  C.MultiLine = L.Polyline.extend({
    _containsPoint: function (p) {
      var w = this._clickTolerance(), rings = this._rings, i, j, r;
      if (!this._pxBounds || !this._pxBounds.contains(p)) return false;
      for (i = rings.length - 1; i >= 0; i--) {
        r = rings[i];
        for (j = 1; j < r.length; j++) {
          if (L.LineUtil.pointToSegmentDistance(p, r[j - 1], r[j]) <= w) { this._hit = this.options.partFi[i]; return true; }
        }
      }
      return false;
    }
  });
  // Many equal circles (fixed pixel radius) drawn as one canvas path, with hit-testing per circle.
  C.MultiDot = L.Path.extend({
    options: {fill: true, radius: 4},
    initialize: function (latlngs, options) {
      L.setOptions(this, options);
      this._latlngs = latlngs;
      this._radius = this.options.radius;
    },
    getBounds: function () { return L.latLngBounds(this._latlngs); },
    _project: function () {
      var map = this._map, n = this._latlngs.length, pts = new Array(n), b = new L.Bounds(), i;
      for (i = 0; i < n; i++) { pts[i] = map.latLngToLayerPoint(this._latlngs[i]); b.extend(pts[i]); }
      this._pts = pts;
      var w = this._radius + this._clickTolerance(), pad = new L.Point(w, w);
      this._pxBounds = n ? new L.Bounds(b.min.subtract(pad), b.max.add(pad)) : null;
    },
    _update: function () { if (this._map) this._updatePath(); },
    _updatePath: function () { this._renderer._updateMultiDot(this); },
    _empty: function () { return !this._pts || !this._pts.length; },
    _containsPoint: function (p) {
      var r = this._radius + this._clickTolerance(), r2 = r * r, pts = this._pts, i, dx, dy;
      if (!this._pxBounds || !this._pxBounds.contains(p)) return false;
      for (i = pts.length - 1; i >= 0; i--) {
        dx = pts[i].x - p.x; dy = pts[i].y - p.y;
        if (dx * dx + dy * dy <= r2) { this._hit = this.options.partFi[i]; return true; }
      }
      return false;
    }
  });
  L.Canvas.include({
    _updateMultiDot: function (layer) {
      if (!this._drawing || layer._empty()) return;
      var ctx = this._ctx, r = layer._radius, pts = layer._pts, i, p;
      ctx.beginPath();
      for (i = 0; i < pts.length; i++) { p = pts[i]; ctx.moveTo(p.x + r, p.y); ctx.arc(p.x, p.y, r, 0, Math.PI * 2, false); }
      this._fillStroke(ctx, layer);
    }
  });
  C.find = function (ds, col, value) {
    var d = C.data[ds];
    for (var i = 0; i < d.n; i++) if (C.value(d, col, i) === value) return i;
    return -1;
  };
  C.value = function (d, col, i) {
    var c = d.cols[col];
    if (!c) return null;
    var v = c.v[i];
    if (v === null || v === undefined) return null;
    return c.t ? c.t[v] : v;
  };
  C.match = function (d, f, i) {
    var v = C.value(d, f.col, i);
    if ('eq' in f) return v === f.eq;
    if ('has' in f) return v !== null && (',' + v + ',').indexOf(',' + f.has + ',') >= 0;
    if ('none' in f) {
      if (v === null || v === '') return true;
      var parts = String(v).split(',');
      for (var j = 0; j < parts.length; j++) if (f.none.indexOf(parts[j]) >= 0) return false;
      return true;
    }
    return true;
  };
  C.fmt = function (v, dec) {
    if (v === true) return 'yes';
    if (v === false) return 'no';
    if (typeof v === 'number' && dec !== 'id') {
      if (dec === null || dec === undefined) return v.toLocaleString('en-US', {maximumFractionDigits: 2});
      return v.toLocaleString('en-US', {minimumFractionDigits: dec, maximumFractionDigits: dec});
    }
    return String(v);
  };
  C.tip = function (d, spec, i) {
    var h = [];
    if (spec.title) h.push('<b>' + C.esc(spec.title[0]) + C.esc(C.fmt(C.value(d, spec.title[1], i), 'id')) + '</b>');
    for (var j = 0; j < spec.tooltip.length; j++) {
      var t = spec.tooltip[j], v = C.value(d, t[1], i);
      if (v === null || v === '' || (typeof v === 'number' && isNaN(v))) continue;
      h.push(C.esc(t[0]) + ': ' + C.esc(C.fmt(v, t[3])) + (t[2] ? ' ' + C.esc(t[2]) : ''));
    }
    return h.join('<br>');
  };
  C.layer = function (spec) {
    var t0 = performance.now(), d = C.data[spec.data], g = L.featureGroup(), f = spec.filter, st = spec.style, i, o, lyr;
    if (spec.merge) {
      // Features of one colour merged into multi-part vector layers of at most `spec.merge` features:
      // a few hundred Leaflet layers instead of 100k. Hit-testing finds the feature under the mouse
      // (layer._hit) for tooltips; options.fis lists the features a layer draws.
      var buckets = {}, j, Cls = d.kind === 'point' ? C.MultiDot : d.kind === 'line' ? C.MultiLine : L.Polygon;
      var make = function (bk) {
        o = Object.assign({}, st);
        o.fis = bk.fis; o.partFi = bk.partFi; o.ds = spec.data; o.lk = spec.key;
        if (spec.color) o.color = bk.color;
        if (spec.fill) o.fillColor = bk.fill;
        g.addLayer(new Cls(bk.shapes, o));
      };
      for (i = 0; i < d.n; i++) {
        if (f && !C.match(d, f, i)) continue;
        var color = spec.color ? C.value(d, spec.color, i) : null, fill = spec.fill ? C.value(d, spec.fill, i) : null;
        var key = color + '|' + fill, bk = buckets[key];
        if (!bk) bk = buckets[key] = {shapes: [], partFi: [], fis: [], color: color, fill: fill};
        bk.fis.push(i);
        if (d.kind !== 'point' && d.pc && d.pc[i] !== 1) {
          for (j = 0; j < d.g[i].length; j++) { bk.shapes.push(d.g[i][j]); bk.partFi.push(i); }
        } else { bk.shapes.push(d.g[i]); bk.partFi.push(i); }
        if (bk.fis.length >= spec.merge) { make(bk); delete buckets[key]; }
      }
      Object.keys(buckets).forEach(function (k) { make(buckets[k]); });
      if (spec.tooltip) {
        g.bindTooltip(function (l) { g.__shown = l._leaflet_id + ':' + l._hit; return C.tip(d, spec, l._hit); }, {sticky: true});
        g.on('mousemove', function (e) {
          var l = e.layer, shown = l._leaflet_id + ':' + l._hit;
          if (shown !== g.__shown) { g.__shown = shown; g.setTooltipContent(C.tip(d, spec, l._hit)); }
        });
      } else if (spec.label) {
        g.bindTooltip(C.esc(spec.label), {sticky: true});
      }
    } else {
      for (i = 0; i < d.n; i++) {
        if (f && !C.match(d, f, i)) continue;
        o = Object.assign({}, st);
        o.fi = i; o.ds = spec.data; o.lk = spec.key;
        if (spec.color) o.color = C.value(d, spec.color, i);
        if (spec.fill) o.fillColor = C.value(d, spec.fill, i);
        if (d.kind === 'point') lyr = L.circleMarker(d.g[i], o);
        else if (d.kind === 'line') lyr = L.polyline(d.g[i], o);
        else lyr = L.polygon(d.g[i], o);
        g.addLayer(lyr);
      }
      if (spec.tooltip) g.bindTooltip(function (l) { return C.tip(d, spec, l.options.fi); }, {sticky: true});
    }
    g.__key = spec.key;
    g.__front = d.kind === 'point';
    C.layers[spec.key] = g;
    C.timings.push(['layer', spec.key, g.getLayers().length, performance.now() - t0]);
    return g;
  };
  C.count = function (key) {
    // features of layer `key` currently on the map (merged layers count their features)
    var n = 0;
    C.map.eachLayer(function (l) { if (l.options && l.options.lk === key) n += l.options.fis ? l.options.fis.length : 1; });
    return n;
  };
  C.drawn = function (ds, col) {
    // distinct values of column `col` among the features of dataset `ds` on the map
    var ids = new Set(), d = C.data[ds];
    C.map.eachLayer(function (l) {
      if (!l.options || l.options.ds !== ds) return;
      (l.options.fis || (l.options.fi === undefined ? [] : [l.options.fi])).forEach(function (i) { ids.add(C.value(d, col, i)); });
    });
    return ids.size;
  };
  C.finish = function (m, opts) {
    C.map = m;
    // an overlay switched back on is drawn last (on top): keep point layers above lines and areas
    m.on('overlayadd', function () {
      Object.keys(C.layers).forEach(function (k) { var g = C.layers[k]; if (g.__front && m.hasLayer(g)) g.bringToFront(); });
    });
    m.attributionControl.addAttribution(opts.attribution);
    [['topleft', opts.title, 'connectivity-title'], ['bottomright', opts.legend, 'connectivity-legend']]
      .forEach(function (x) {
        if (!x[1]) return;
        var ctl = L.control({position: x[0]});
        ctl.onAdd = function () { var div = L.DomUtil.create('div', x[2]); div.innerHTML = x[1]; return div; };
        ctl.addTo(m);
      });
    C.timings.push(['finish', '', 0, performance.now()]);
    requestAnimationFrame(function () { requestAnimationFrame(function () {
      C.timings.push(['ready', '', 0, performance.now()]);
      window.__mapReady = true;
    }); });
  };
})();
