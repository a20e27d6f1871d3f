// A film with three point contacts on its top surface (fem_peltier, meshes/README.md):
// contacts "a" and "b" near the two ends carry the current, "c" between them off the axis
// is free for a probe or a third current. Lengths in metres. Physical groups: film,
// electrode_a, electrode_b, electrode_c, sink (the bottom face), top (the free top surface).
SetFactory("OpenCASCADE");

L = 1.0e-3;      // film length along x
W = 0.6e-3;      // film width along y
h = 1.0e-4;      // film thickness along z
s = 4.0e-5;      // contact side (square patches)
lc = 8.0e-5;     // bulk cell size
lc_c = 1.0e-5;   // cell size at the contacts

Box(1) = {0, 0, 0, L, W, h};
Rectangle(10) = {0.10 * L - s/2, 0.5 * W - s/2, h, s, s};   // a
Rectangle(11) = {0.90 * L - s/2, 0.5 * W - s/2, h, s, s};   // b
Rectangle(12) = {0.50 * L - s/2, 0.8 * W - s/2, h, s, s};   // c
BooleanFragments{ Volume{1}; Delete; }{ Surface{10, 11, 12}; Delete; }

e = 1.0e-6;  // selection tolerance (OpenCASCADE pads bounding boxes by 1e-7)
ca() = Surface In BoundingBox{0.10 * L - s/2 - e, 0.5 * W - s/2 - e, h - e, 0.10 * L + s/2 + e, 0.5 * W + s/2 + e, h + e};
cb() = Surface In BoundingBox{0.90 * L - s/2 - e, 0.5 * W - s/2 - e, h - e, 0.90 * L + s/2 + e, 0.5 * W + s/2 + e, h + e};
cc() = Surface In BoundingBox{0.50 * L - s/2 - e, 0.8 * W - s/2 - e, h - e, 0.50 * L + s/2 + e, 0.8 * W + s/2 + e, h + e};
Physical Volume("film") = Volume{:};
Physical Surface("electrode_a") = ca();
Physical Surface("electrode_b") = cb();
Physical Surface("electrode_c") = cc();
Physical Surface("sink") = Surface In BoundingBox{-e, -e, -e, L + e, W + e, e};
top() = Surface In BoundingBox{-e, -e, h - e, L + e, W + e, h + e};
top() -= ca();
top() -= cb();
top() -= cc();
Physical Surface("top") = top();

Mesh.MeshSizeMax = lc;
MeshSize{ PointsOf{ Surface{ca(), cb(), cc()}; } } = lc_c;
