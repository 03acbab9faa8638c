// What the full @tensorflow/tfjs package set up on import, and cmdcm needs from it: the 'cpu'
// backend (the reference engine, and the base the 'native' backend extends) and the gradient
// functions (tfjs-core's Node bundle registers none). cmdcm depends on tfjs-core and the CPU
// backend only (52 MB instead of 272 MB installed). Every module that computes with tfjs imports
// this first, so a tensor op or a gradient works whatever the import order.
import '@tensorflow/tfjs-backend-cpu';
import './core-gradients.js';
