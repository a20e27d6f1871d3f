// Four-probe bar: a uniform film bar with current contacts on its end faces and two
// voltage-probe patches across its top surface (fem_peltier, meshes/README.md).
// Lengths in metres. Physical groups: film, electrode_source, electrode_drain,
// electrode_probe1, electrode_probe2, sink (the bottom face), top (the free top surface).
SetFactory("OpenCASCADE");

L = 1.0e-3;      // bar length along x
W = 2.0e-4;      // bar width along y
h = 2.0e-5;      // film thickness along z
x1 = 0.3e-3;     // probe centres along x
x2 = 0.7e-3;
a = 4.0e-6;      // probe patch length along x (the patch spans the width), a << h: the
                 // patch barely shorts the bar, so each probe reads the potential at its centre
lc = 4.0e-5;     // cell size

Box(1) = {0, 0, 0, L, W, h};
Rectangle(10) = {x1 - a/2, 0, h, a, W};
Rectangle(11) = {x2 - a/2, 0, h, a, W};
BooleanFragments{ Volume{1}; Delete; }{ Surface{10, 11}; Delete; }

e = 1.0e-6;  // selection tolerance (OpenCASCADE pads bounding boxes by 1e-7)
Physical Volume("film") = Volume{:};
Physical Surface("electrode_source") = Surface In BoundingBox{-e, -e, -e, e, W + e, h + e};
Physical Surface("electrode_drain") = Surface In BoundingBox{L - e, -e, -e, L + e, W + e, h + e};
probe1() = Surface In BoundingBox{x1 - a/2 - e, -e, h - e, x1 + a/2 + e, W + e, h + e};
probe2() = Surface In BoundingBox{x2 - a/2 - e, -e, h - e, x2 + a/2 + e, W + e, h + e};
Physical Surface("electrode_probe1") = probe1();
Physical Surface("electrode_probe2") = probe2();
Physical Surface("sink") = Surface In BoundingBox{-e, -e, -e, L + e, W + e, e};
top() = Surface In BoundingBox{-e, -e, h - e, L + e, W + e, h + e};
top() -= probe1();
top() -= probe2();
Physical Surface("top") = top();

Mesh.MeshSizeMax = lc;
MeshSize{ PointsOf{ Surface{probe1()}; } } = a;
MeshSize{ PointsOf{ Surface{probe2()}; } } = a;
